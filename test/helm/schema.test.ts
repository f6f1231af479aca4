/** Bad values stop `helm template` with a message naming the value; the schema mirrors src/config.ts. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ConfigSchema, LOG_LEVELS } from '../../src/config.js'
import { chartDir, helm, RELEASE } from '../helpers/helm.js'

async function rejected(args: string[]): Promise<string> {
  const result = await helm(['template', RELEASE, chartDir, ...args])
  if (result.code === 0) throw new Error(`helm template accepted ${args.join(' ')}`)
  return result.stderr
}

t.test('replicaCount "two" is refused, from --set-string and from a values file', async (t) => {
  t.match(
    await rejected(['--set-string', 'replicaCount=two']),
    "at '/replicaCount': got string, want integer",
  )
  const dir = mkdtempSync(join(tmpdir(), 'live-state-api-values-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'bad.yaml')
  writeFileSync(file, 'replicaCount: "two"\n')
  t.match(await rejected(['-f', file]), "at '/replicaCount': got string, want integer")
})

t.test('the schema refuses what the service would refuse, naming the value', async (t) => {
  const cases: [string[], string][] = [
    [['--set', 'config.logLevel=verbose'], "at '/config/logLevel': value must be one of 'fatal'"],
    [['--set', 'config.port=80'], "at '/config/port': minimum: got 80, want 1,024"],
    [
      ['--set', 'config.redisCommandTimeoutMs=2000'],
      "at '/config/redisCommandTimeoutMs': maximum: got 2,000, want 1,900",
    ],
    [['--set', 'config.shutdownTimeoutMs=99'], "at '/config/shutdownTimeoutMs': minimum: got 99, want 100"],
    [['--set', 'config.webcontrolCommands={pp,b@d}'], "at '/config/webcontrolCommands/1'"],
    [
      ['--set-json', 'config.heartbeatIntervalMs=1.5'],
      "at '/config/heartbeatIntervalMs': got number, want integer",
    ],
    [['--set', 'replicas=3'], "additional properties 'replicas' not allowed"],
    [['--set', 'redis.enabled=false,redis.url=http://redis:6379'], "at '/redis/url'"],
    [['--set', 'ingress.enabled=true'], "at '/ingress/hosts': minItems: got 0, want 1"],
    [['--set', 'image.pullPolicy=Sometimes'], "at '/image/pullPolicy'"],
    [['--set', 'config.controlChannel='], "at '/config/controlChannel': minLength: got 0, want 1"],
    [['--set', 'config.replayMaxEvents=-1'], "at '/config/replayMaxEvents': minimum: got -1, want 0"],
    [['--set', 'config.replayMaxBytes=-1'], "at '/config/replayMaxBytes': minimum: got -1, want 0"],
    [['--set', 'config.commandReplayTtlMs=-1'], "at '/config/commandReplayTtlMs': minimum: got -1, want 0"],
    [['--set', 'config.maxStreams=0'], "at '/config/maxStreams': minimum: got 0, want 1"],
    [['--set-json', 'config.snapshotTypes=[]'], "at '/config/snapshotTypes': minItems: got 0, want 1"],
    [['--set', 'config.snapshotTypes={Weather,a b}'], "at '/config/snapshotTypes/1'"],
    [
      ['--set', 'autoscaling.targetOpenStreamsPerPod=-1'],
      "at '/autoscaling/targetOpenStreamsPerPod': minimum: got -1, want 0",
    ],
  ]
  for (const [args, message] of cases) t.match(await rejected(args), message, args.join(' '))
})

t.test('the templates refuse combinations the schema cannot express', async (t) => {
  t.match(
    await rejected(['--set', 'redis.existingSecret=redis-url']),
    'redis: set exactly one of redis.enabled (bundled Redis), redis.existingSecret (REDIS_URL from a Secret) or redis.url; set now: redis.enabled, redis.existingSecret',
  )
  t.match(await rejected(['--set', 'redis.enabled=false']), 'set now: none')
  t.match(
    await rejected(['--set', 'terminationGracePeriodSeconds=12']),
    'terminationGracePeriodSeconds (12) must be at least preStopSleepSeconds (5) + config.shutdownTimeoutMs in seconds (8) = 13',
  )
  t.match(
    await rejected(['--set', 'autoscaling.enabled=true,autoscaling.minReplicas=5,autoscaling.maxReplicas=4']),
    'autoscaling.minReplicas (5) must not exceed autoscaling.maxReplicas (4)',
  )
  t.match(
    await rejected(['--set', 'config.controlChannel=update']),
    'config.controlChannel must differ from config.updateChannel (both are "update")',
  )
  t.match(
    await rejected(['--set', 'config.maxStreams=19000']),
    'resources.limits.memory (256Mi) is below what config.maxStreams (19000) needs: 128Mi + 19000 x 16Ki = 425Mi',
  )
  t.match(
    await rejected(['--set', 'config.maxStreams=19000,resources.limits.memory=424Mi']),
    'resources.limits.memory (424Mi) is below what config.maxStreams (19000) needs',
  )
  t.match(
    await rejected(['--set', 'resources.limits.memory=1G,config.maxStreams=60000']),
    'resources.limits.memory (1G) is below what config.maxStreams (60000) needs: 128Mi + 60000 x 16Ki = 1066Mi',
  )
  t.match(
    await rejected(['--set', 'autoscaling.enabled=true,autoscaling.targetOpenStreamsPerPod=8000']),
    'autoscaling.targetOpenStreamsPerPod (8000) must be below config.maxStreams (8000)',
  )
})

t.test("the config part of the schema has src/config.ts's limits", async (t) => {
  interface Limits {
    minimum?: number
    maximum?: number
    pattern?: string
    minLength?: number
    minItems?: number
    enum?: string[]
    items?: Limits
    description?: string
  }
  const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as {
    properties: { config: { properties: Record<string, Limits> } }
  }
  const chart = schema.properties.config.properties
  const service = ConfigSchema.properties as unknown as Record<string, Limits>
  const pairs: [string, string][] = [
    ['port', 'port'],
    ['host', 'host'],
    ['updateChannel', 'updateChannel'],
    ['keyPrefix', 'keyPrefix'],
    ['corsOrigins', 'corsOrigins'],
    ['logLevel', 'logLevel'],
    ['heartbeatIntervalMs', 'heartbeatMs'],
    ['webcontrolCommands', 'webcontrolCommands'],
    ['redisCommandTimeoutMs', 'redisCommandTimeoutMs'],
    ['clientMaxBufferBytes', 'clientMaxBufferBytes'],
    ['clientWriteBudgetBytes', 'clientWriteBudgetBytes'],
    ['shutdownTimeoutMs', 'shutdownTimeoutMs'],
    ['controlChannel', 'controlChannel'],
    ['replayMaxEvents', 'replayMaxEvents'],
    ['replayMaxBytes', 'replayMaxBytes'],
    ['commandReplayTtlMs', 'commandReplayTtlMs'],
    ['snapshotTypes', 'snapshotTypes'],
    ['maxStreams', 'maxStreams'],
  ]
  t.same(Object.keys(chart).sort(), pairs.map(([c]) => c).sort(), 'every chart config value is listed here')
  for (const [chartKey, configKey] of pairs) {
    const c = chart[chartKey] as Limits
    const s = service[configKey] as Limits
    // The schema's description is the variable's name, as in ConfigSchema.
    t.equal(c.description, s.description?.split(' ')[0], `${chartKey} names its variable`)
    if (chartKey === 'port') {
      // Stricter on purpose: without capabilities the container cannot bind below 1024.
      t.same([c.minimum, c.maximum], [1024, s.maximum])
    } else {
      t.same([c.minimum, c.maximum], [s.minimum, s.maximum], `${chartKey} range`)
    }
  }
  t.same(chart.logLevel?.enum, [...LOG_LEVELS])
  t.equal(chart.webcontrolCommands?.items?.pattern, service.webcontrolCommands?.items?.pattern)
  t.equal(chart.webcontrolCommands?.minItems, service.webcontrolCommands?.minItems)
  t.same(
    [chart.controlChannel?.minLength, chart.snapshotTypes?.items?.minLength],
    [service.controlChannel?.minLength, service.snapshotTypes?.items?.minLength],
  )
  // Stricter on purpose: SNAPSHOT_TYPES="" reads as the default list, not as none.
  t.equal(service.snapshotTypes?.minItems, undefined)
  t.equal(chart.snapshotTypes?.minItems, 1)
})
