/** NOTES.txt, as `helm install` prints it: the commands to reach the service work with the rendered names. */
import t from 'tap'
import { chartDir, helm, productionValues, RELEASE } from '../helpers/helm.js'

async function notes(args: string[]): Promise<string> {
  const result = await helm([
    'install',
    RELEASE,
    chartDir,
    '--namespace',
    'live',
    '--dry-run=client',
    ...args,
  ])
  if (result.code !== 0) throw new Error(`helm install --dry-run failed: ${result.stderr}`)
  const start = result.stdout.indexOf('NOTES:\n')
  if (start < 0) throw new Error('no NOTES in the output')
  return result.stdout.slice(start + 'NOTES:\n'.length)
}

t.test('with the defaults: port-forward, curl, the bundled Redis, rollout restart', async (t) => {
  const text = await notes([])
  const lines = text.split('\n').map((l) => l.trim())
  t.ok(lines.includes('kubectl -n live port-forward svc/live-state-api 8000:80'))
  t.ok(lines.includes('curl -s http://127.0.0.1:8000/ready'))
  t.ok(lines.includes('curl -N http://127.0.0.1:8000/events        # the SSE stream; Ctrl-C to stop'))
  t.ok(lines.includes('curl -s http://127.0.0.1:8000/metrics       # Prometheus metrics'))
  t.ok(lines.includes('Redis: the bundled single-node Redis, service live-state-api-redis (no persistence)'))
  t.ok(lines.includes('kubectl -n live rollout restart deployment/live-state-api'))
  t.notMatch(text, 'Through the ingress')
})

t.test('with the production values: the ingress URL and the Secret', async (t) => {
  const lines = (await notes(['-f', productionValues])).split('\n').map((l) => l.trim())
  t.ok(lines.includes('curl -N https://live.example.com/api/events'))
  t.ok(
    lines.includes(
      'curl -s http://127.0.0.1:8000/metrics       # Prometheus metrics (the ServiceMonitor scrapes them)',
    ),
  )
  t.ok(lines.includes('Redis: REDIS_URL from Secret live-state-api-redis, key redis-url.'))
  t.ok(lines.includes('After changing that Secret, restart the pods: they read it only at start.'))
})
