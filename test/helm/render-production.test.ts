/** `helm template` with ci/production-values.yaml: external Redis, ingress, HPA, PDB, ServiceMonitor, NetworkPolicy. */
import t from 'tap'
import { DEFAULTS, loadConfig } from '../../src/config.js'
import {
  configVariableNames,
  containerEnvNames,
  inventory,
  pick,
  productionValues,
  RELEASE,
  render,
} from '../helpers/helm.js'

const NAME = RELEASE
const manifests = await render(['-f', productionValues])
const deployment = pick(manifests, 'Deployment', NAME)
const pod = deployment.spec.template.spec
const container = pod.containers[0]
const selector = {
  'app.kubernetes.io/name': 'live-state-api',
  'app.kubernetes.io/instance': RELEASE,
  'app.kubernetes.io/component': 'api',
}

t.test('renders exactly these objects (no bundled Redis)', async (t) => {
  t.same(inventory(manifests), [
    `ConfigMap/${NAME}`,
    `Deployment/${NAME}`,
    `HorizontalPodAutoscaler/${NAME}`,
    `Ingress/${NAME}`,
    `NetworkPolicy/${NAME}`,
    `PodDisruptionBudget/${NAME}`,
    `Service/${NAME}`,
    `ServiceAccount/${NAME}`,
    `ServiceMonitor/${NAME}`,
  ])
})

t.test('REDIS_URL comes from the existing Secret, nothing else names Redis', async (t) => {
  t.same(container.env, [
    { name: 'REDIS_URL', valueFrom: { secretKeyRef: { name: 'live-state-api-redis', key: 'redis-url' } } },
  ])
  const data = pick(manifests, 'ConfigMap', NAME).data ?? {}
  t.equal(data.REDIS_URL, undefined)
  const secretUrl = 'redis://:secret@redis.live.svc:6379/0'
  t.same(loadConfig({ ...data, REDIS_URL: secretUrl }), {
    ...DEFAULTS,
    redisUrl: secretUrl,
    keyPrefix: 'update:',
    corsOrigins: ['https://live.example.com'],
    maxStreams: 16000,
  })
  const known = configVariableNames()
  for (const name of containerEnvNames(manifests, NAME)) t.ok(known.has(name), `${name} is in src/config.ts`)
})

t.test('the image comes from the production registry', async (t) => {
  t.equal(container.image, 'registry.example.com/live/live-state-api:0.1.0')
  t.same(pod.imagePullSecrets, [{ name: 'registry-credentials' }])
})

t.test('the HPA owns the replica count', async (t) => {
  t.equal(deployment.spec.replicas, undefined)
  t.same(deployment.spec.strategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
  })
  t.same(pick(manifests, 'HorizontalPodAutoscaler', NAME).spec, {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: NAME },
    minReplicas: 3,
    maxReplicas: 10,
    metrics: [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      },
      {
        type: 'Pods',
        pods: {
          metric: { name: 'live_state_api_open_streams' },
          target: { type: 'AverageValue', averageValue: '10000' },
        },
      },
    ],
  })
  // New pods take only new streams: the target leaves each pod room below its limit.
  const maxStreams = Number(pick(manifests, 'ConfigMap', NAME).data?.MAX_STREAMS)
  t.equal(maxStreams, 16000)
  t.ok(10000 < maxStreams)
  // 128Mi + 16000 x 16Ki = 378Mi.
  t.equal(container.resources.limits.memory, '384Mi')
  t.same(pick(manifests, 'PodDisruptionBudget', NAME).spec, {
    maxUnavailable: 1,
    selector: { matchLabels: selector },
  })
})

t.test('the probes and security context are the same as with the defaults', async (t) => {
  t.same(container.livenessProbe.httpGet, { path: '/live', port: 'http' })
  t.same(container.readinessProbe.httpGet, { path: '/ready', port: 'http' })
  t.same(container.ports, [{ name: 'http', containerPort: DEFAULTS.port, protocol: 'TCP' }])
  t.equal(container.securityContext.readOnlyRootFilesystem, true)
  t.equal(container.securityContext.runAsNonRoot, true)
  t.equal(pod.terminationGracePeriodSeconds, 30)
})

t.test('the Ingress: /api stripped, SSE-friendly ingress-nginx settings, TLS', async (t) => {
  const ingress = pick(manifests, 'Ingress', NAME)
  t.same(ingress.metadata.annotations, {
    'cert-manager.io/cluster-issuer': 'letsencrypt',
    'nginx.ingress.kubernetes.io/use-regex': 'true',
    'nginx.ingress.kubernetes.io/rewrite-target': '/$2',
    'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
    'nginx.ingress.kubernetes.io/proxy-http-version': '1.1',
    'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
    'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
  })
  t.same(ingress.spec, {
    ingressClassName: 'nginx',
    tls: [{ secretName: 'live-example-com-tls', hosts: ['live.example.com'] }],
    rules: [
      {
        host: 'live.example.com',
        http: {
          paths: [
            {
              path: '/api(/|$)(.*)',
              pathType: 'ImplementationSpecific',
              backend: { service: { name: NAME, port: { name: 'http' } } },
            },
          ],
        },
      },
    ],
  })
  // What ingress-nginx makes of it: location ~* "^<path>", then rewrite to "/$2".
  const path = ingress.spec.rules[0].http.paths[0].path as string
  const rewrite = (url: string) => {
    const m = new RegExp(`^${path}`, 'i').exec(url)
    return m === null ? null : `/${m[2]}`
  }
  t.equal(rewrite('/api/events'), '/events')
  t.equal(rewrite('/api/key/Weather-Server'), '/key/Weather-Server')
  t.equal(rewrite('/api/webcontrol/pp'), '/webcontrol/pp')
  t.equal(rewrite('/api'), '/')
  t.equal(rewrite('/api/'), '/')
  t.equal(rewrite('/apiary'), null)
  t.equal(rewrite('/events'), null)
  const service = pick(manifests, 'Service', NAME)
  t.same(
    service.spec.ports.map((p: { name: string }) => p.name),
    ['http'],
  )
})

t.test('user annotations win over the chart defaults', async (t) => {
  const custom = await render([
    '-f',
    productionValues,
    '--set-string',
    'ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/proxy-read-timeout=86400',
  ])
  const annotations = pick(custom, 'Ingress', NAME).metadata.annotations ?? {}
  t.equal(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'], '86400')
  t.equal(annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'], '3600')
  t.equal(annotations['nginx.ingress.kubernetes.io/proxy-buffering'], 'off')
})

t.test('the ServiceMonitor scrapes /metrics on port "http" of this Service', async (t) => {
  const monitor = pick(manifests, 'ServiceMonitor', NAME)
  t.equal(monitor.apiVersion, 'monitoring.coreos.com/v1')
  t.equal(monitor.metadata.labels?.release, 'kube-prometheus-stack')
  t.same(monitor.spec, {
    selector: { matchLabels: selector },
    endpoints: [{ port: 'http', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }],
  })
  t.match(pick(manifests, 'Service', NAME).metadata.labels, selector)
})

t.test(
  'the NetworkPolicy: in from the ingress controller and Prometheus, out to Redis and DNS',
  async (t) => {
    const policy = pick(manifests, 'NetworkPolicy', NAME)
    const http = [{ port: 'http', protocol: 'TCP' }]
    t.same(policy.spec, {
      podSelector: { matchLabels: selector },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
              podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
            },
          ],
          ports: http,
        },
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
          ports: http,
        },
      ],
      egress: [
        {
          ports: [{ port: 6379, protocol: 'TCP' }],
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'live' } },
              podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } },
            },
          ],
        },
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { port: 53, protocol: 'UDP' },
            { port: 53, protocol: 'TCP' },
          ],
        },
      ],
    })
  },
)

t.test('with the bundled Redis, the NetworkPolicies pair the service and Redis', async (t) => {
  const bundled = await render(['--set', 'networkPolicy.enabled=true'])
  const redisSelector = { ...selector, 'app.kubernetes.io/component': 'redis' }
  t.same(pick(bundled, 'NetworkPolicy', NAME).spec.egress[0], {
    to: [{ podSelector: { matchLabels: redisSelector } }],
    ports: [{ port: 6379, protocol: 'TCP' }],
  })
  t.same(pick(bundled, 'NetworkPolicy', `${NAME}-redis`).spec, {
    podSelector: { matchLabels: redisSelector },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [
      { from: [{ podSelector: { matchLabels: selector } }], ports: [{ port: 'redis', protocol: 'TCP' }] },
    ],
    egress: [],
  })
})
