/** `helm template` with the default values: exact objects, checked against src/config.ts and the Dockerfile. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { DEFAULTS, loadConfig } from '../../src/config.js'
import { only, parseDockerfile, type Stage } from '../helpers/dockerfile.js'
import {
  chartDir,
  configVariableNames,
  containerEnvNames,
  inventory,
  type Manifest,
  pick,
  RELEASE,
  render,
  repoRoot,
} from '../helpers/helm.js'

const NAME = RELEASE
const REDIS = `${RELEASE}-redis`
const manifests = await render()
const deployment = pick(manifests, 'Deployment', NAME)
const pod = deployment.spec.template.spec
const container = pod.containers[0]
const configMap = pick(manifests, 'ConfigMap', NAME)

const selector = {
  'app.kubernetes.io/name': 'live-state-api',
  'app.kubernetes.io/instance': RELEASE,
  'app.kubernetes.io/component': 'api',
}
const redisSelector = { ...selector, 'app.kubernetes.io/component': 'redis' }

t.test('renders exactly these objects', async (t) => {
  t.same(inventory(manifests), [
    `ConfigMap/${NAME}`,
    `Deployment/${NAME}`,
    `Deployment/${REDIS}`,
    `PodDisruptionBudget/${NAME}`,
    `Service/${NAME}`,
    `Service/${REDIS}`,
    `ServiceAccount/${NAME}`,
  ])
})

t.test('the image is the chart appVersion, which is the package version', async (t) => {
  const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string }
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }
  t.equal(chart.appVersion, pkg.version)
  t.equal(container.image, `live-state-api:${pkg.version}`)
  t.equal(container.name, 'api')
})

t.test('the container port "http" is the service default PORT', async (t) => {
  t.same(container.ports, [{ name: 'http', containerPort: DEFAULTS.port, protocol: 'TCP' }])
  t.equal(configMap.data?.PORT, String(DEFAULTS.port))
})

t.test('probes: /live and /ready on port "http"', async (t) => {
  t.same(container.livenessProbe, {
    httpGet: { path: '/live', port: 'http' },
    periodSeconds: 10,
    timeoutSeconds: 2,
    failureThreshold: 3,
  })
  t.same(container.readinessProbe, {
    httpGet: { path: '/ready', port: 'http' },
    periodSeconds: 5,
    timeoutSeconds: 3,
    failureThreshold: 2,
  })
  // /ready pings Redis, bounded by the command timeout: the probe must wait longer.
  t.ok(container.readinessProbe.timeoutSeconds * 1000 > DEFAULTS.redisCommandTimeoutMs)
})

t.test('the ConfigMap is the service defaults, and loadConfig reads it back as such', async (t) => {
  const redisUrl = `redis://${REDIS}:6379/0`
  t.same(configMap.data, {
    PORT: String(DEFAULTS.port),
    HOST: DEFAULTS.host,
    UPDATE_CHANNEL: DEFAULTS.updateChannel,
    KEY_PREFIX: DEFAULTS.keyPrefix,
    CORS_ORIGINS: DEFAULTS.corsOrigins.join(','),
    LOG_LEVEL: DEFAULTS.logLevel,
    HEARTBEAT_INTERVAL_MS: String(DEFAULTS.heartbeatMs),
    WEBCONTROL_COMMANDS: DEFAULTS.webcontrolCommands.join(','),
    REDIS_COMMAND_TIMEOUT_MS: String(DEFAULTS.redisCommandTimeoutMs),
    CLIENT_MAX_BUFFER_BYTES: String(DEFAULTS.clientMaxBufferBytes),
    CLIENT_WRITE_BUDGET_BYTES: String(DEFAULTS.clientWriteBudgetBytes),
    SHUTDOWN_TIMEOUT_MS: String(DEFAULTS.shutdownTimeoutMs),
    CONTROL_CHANNEL: DEFAULTS.controlChannel,
    REPLAY_MAX_EVENTS: String(DEFAULTS.replayMaxEvents),
    REPLAY_MAX_BYTES: String(DEFAULTS.replayMaxBytes),
    COMMAND_REPLAY_TTL_MS: String(DEFAULTS.commandReplayTtlMs),
    SNAPSHOT_TYPES: DEFAULTS.snapshotTypes.join(','),
    // The one chart default below the service's: 19000 streams do not fit 256Mi.
    MAX_STREAMS: '8000',
    REDIS_URL: redisUrl,
  })
  t.same(loadConfig(configMap.data), { ...DEFAULTS, redisUrl, maxStreams: 8000 })
  t.same(container.envFrom, [{ configMapRef: { name: NAME } }])
  t.equal(container.env, undefined)
})

t.test('every variable the chart sets is one src/config.ts reads', async (t) => {
  const known = configVariableNames()
  const names = containerEnvNames(manifests, NAME)
  t.equal(names.length, 19)
  for (const name of names) t.ok(known.has(name), `${name} is in src/config.ts`)
})

t.test('security contexts: non-root by number, read-only root, no privileges', async (t) => {
  const dockerfile = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'))
  const runtime = dockerfile.stages.at(-1) as Stage
  const [uid, gid] = (only(runtime, 'USER')[0]?.args ?? '').split(':').map(Number)
  t.same([uid, gid], [1000, 1000], 'the Dockerfile USER')
  t.same(pod.securityContext, {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    seccompProfile: { type: 'RuntimeDefault' },
  })
  t.same(container.securityContext, {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  })
  t.equal(pod.automountServiceAccountToken, false)
  t.equal(pod.serviceAccountName, NAME)
  t.equal(pick(manifests, 'ServiceAccount', NAME).automountServiceAccountToken, false)
})

t.test('rollouts never drop below the desired replicas; shutdown fits the grace period', async (t) => {
  t.equal(deployment.spec.replicas, 2)
  t.same(deployment.spec.strategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
  })
  t.same(container.lifecycle, { preStop: { exec: { command: ['sleep', '5'] } } })
  t.equal(pod.terminationGracePeriodSeconds, 30)
  const preStop = Number(container.lifecycle.preStop.exec.command[1])
  const shutdown = Number(configMap.data?.SHUTDOWN_TIMEOUT_MS) / 1000
  t.ok(
    pod.terminationGracePeriodSeconds >= preStop + Math.ceil(shutdown),
    'grace >= preStop + shutdown timeout',
  )
  // The contract's own bound: the process exits within 10 s of SIGTERM.
  t.ok(pod.terminationGracePeriodSeconds >= preStop + 10, 'grace >= preStop + 10 s')
})

t.test('selectors: Deployment, Service and PodDisruptionBudget pick the same pods, not Redis', async (t) => {
  t.same(deployment.spec.selector, { matchLabels: selector })
  t.match(deployment.spec.template.metadata.labels, selector)
  const service = pick(manifests, 'Service', NAME)
  t.same(service.spec, {
    type: 'ClusterIP',
    selector,
    ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
  })
  t.same(pick(manifests, 'PodDisruptionBudget', NAME).spec, {
    maxUnavailable: 1,
    selector: { matchLabels: selector },
  })
})

t.test('the config checksum changes with the config, and only then', async (t) => {
  const checksum = (m: Manifest[]) =>
    pick(m, 'Deployment', NAME).spec.template.metadata.annotations['checksum/config'] as string
  t.match(checksum(manifests), /^[0-9a-f]{64}$/)
  t.not(checksum(await render(['--set', 'config.logLevel=debug'])), checksum(manifests))
  t.equal(checksum(await render(['--set', 'replicaCount=3'])), checksum(manifests))
})

t.test('the bundled Redis: redis:7-alpine, non-root, reachable at the URL the ConfigMap gives', async (t) => {
  const redis = pick(manifests, 'Deployment', REDIS)
  t.same(redis.spec.selector, { matchLabels: redisSelector })
  t.same(redis.spec.strategy, { type: 'Recreate' })
  const redisPod = redis.spec.template.spec
  const redisContainer = redisPod.containers[0]
  t.equal(redisContainer.image, 'redis:7-alpine')
  t.same(redisContainer.command, ['redis-server'])
  t.same(redisContainer.args, ['--save', '', '--appendonly', 'no', '--protected-mode', 'no'])
  t.same(redisContainer.ports, [{ name: 'redis', containerPort: 6379, protocol: 'TCP' }])
  t.same(redisPod.securityContext, {
    runAsNonRoot: true,
    runAsUser: 999,
    runAsGroup: 1000,
    seccompProfile: { type: 'RuntimeDefault' },
  })
  t.same(redisContainer.securityContext, {
    runAsNonRoot: true,
    runAsUser: 999,
    runAsGroup: 1000,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  })
  t.same(redisContainer.volumeMounts, [{ name: 'data', mountPath: '/data' }])
  t.same(redisPod.volumes, [{ name: 'data', emptyDir: {} }])
  t.same(pick(manifests, 'Service', REDIS).spec, {
    type: 'ClusterIP',
    selector: redisSelector,
    ports: [{ name: 'redis', port: 6379, targetPort: 'redis', protocol: 'TCP' }],
  })
  t.equal(new URL(configMap.data?.REDIS_URL ?? '').hostname, REDIS)
})

t.test('non-default config values reach the service as set', async (t) => {
  const custom = await render([
    '--set',
    'config.port=9000,config.host=127.0.0.1,config.updateChannel=updates,config.keyPrefix=update:',
    '--set',
    'config.corsOrigins={https://a.example,https://b.example},config.logLevel=debug',
    '--set',
    'config.heartbeatIntervalMs=5000,config.webcontrolCommands={pp,fwd},config.redisCommandTimeoutMs=900',
    '--set',
    'config.clientMaxBufferBytes=10000000000,config.shutdownTimeoutMs=20000,terminationGracePeriodSeconds=25',
    '--set',
    'config.clientWriteBudgetBytes=65536',
    '--set',
    'config.controlChannel=commands,config.replayMaxEvents=0,config.replayMaxBytes=20000000000',
    '--set',
    'config.commandReplayTtlMs=1000,config.snapshotTypes={Weather,AQI,NFL},config.maxStreams=25000',
    '--set',
    'resources.limits.memory=1Gi',
  ])
  const data = pick(custom, 'ConfigMap', NAME).data ?? {}
  // Large numbers stay integers (Helm reads values as floats: 1e+10 would be refused).
  t.equal(data.CLIENT_MAX_BUFFER_BYTES, '10000000000')
  t.equal(data.REPLAY_MAX_BYTES, '20000000000')
  t.equal(data.SNAPSHOT_TYPES, 'Weather,AQI,NFL')
  t.equal(data.MAX_STREAMS, '25000')
  t.same(loadConfig(data), {
    port: 9000,
    host: '127.0.0.1',
    redisUrl: `redis://${REDIS}:6379/0`,
    updateChannel: 'updates',
    keyPrefix: 'update:',
    corsOrigins: ['https://a.example', 'https://b.example'],
    logLevel: 'debug',
    heartbeatMs: 5000,
    webcontrolCommands: ['pp', 'fwd'],
    redisCommandTimeoutMs: 900,
    clientMaxBufferBytes: 10000000000,
    clientWriteBudgetBytes: 65536,
    shutdownTimeoutMs: 20000,
    controlChannel: 'commands',
    replayMaxEvents: 0,
    replayMaxBytes: 20000000000,
    commandReplayTtlMs: 1000,
    snapshotTypes: ['Weather', 'AQI', 'NFL'],
    maxStreams: 25000,
    // The chart runs standalone Redis; other modes go through extraEnv.
    redisDeployment: {
      mode: 'standalone',
      sentinels: [],
      sentinelMaster: '',
      clusterNodes: [],
      healthCheckMs: 5000,
    },
  })
  const customContainer = pick(custom, 'Deployment', NAME).spec.template.spec.containers[0]
  t.same(customContainer.ports, [{ name: 'http', containerPort: 9000, protocol: 'TCP' }])
})

/** A Kubernetes memory quantity in bytes, for the forms the chart's values use. */
function bytes(quantity: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity)
  if (m === null) throw new Error(`unexpected quantity ${quantity}`)
  return Number(m[1]) * { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] ?? '']!
}

t.test('MAX_STREAMS fits the memory limit: 128Mi + 16Ki per stream', async (t) => {
  // About 12-16 KiB per idle stream (socket, request, reply, ClientStream), measured with
  // thousands of streams open; 128Mi is the process itself plus room for slow clients.
  const maxStreams = Number(configMap.data?.MAX_STREAMS)
  t.equal(container.resources.limits.memory, '256Mi')
  t.equal(container.resources.requests.memory, '96Mi')
  t.ok(bytes(container.resources.limits.memory) >= bytes('128Mi') + maxStreams * bytes('16Ki'))
  // The service's own default needs 425Mi: the chart renders it at 425Mi and not below.
  const fits = await render(['--set', 'config.maxStreams=19000,resources.limits.memory=425Mi'])
  t.equal(pick(fits, 'ConfigMap', NAME).data?.MAX_STREAMS, '19000')
  const noLimit = await render(['--set', 'config.maxStreams=19000,resources.limits=null'])
  t.equal(pick(noLimit, 'Deployment', NAME).spec.template.spec.containers[0].resources.limits, undefined)
})
