import { request } from 'node:http'
import t from 'tap'
import { baseUrl, build, ORIGIN } from '../helpers/build.js'
import { parseExposition, Scrape, scrape } from '../helpers/metrics.js'
import { RedisServer } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait.js'

const redis = await RedisServer.start()
t.teardown(() => redis.stop())

const HTTP = 'live_state_api_http_requests_total'
const DURATION = 'live_state_api_http_request_duration_seconds'

/** Every metric family of the service, with its type: the list under "Metrics" in the README. */
const FAMILIES: Record<string, string> = {
  live_state_api_open_streams: 'gauge',
  live_state_api_events_received_total: 'counter',
  live_state_api_events_delivered_total: 'counter',
  live_state_api_messages_rejected_total: 'counter',
  live_state_api_slow_clients_disconnected_total: 'counter',
  live_state_api_replays_total: 'counter',
  live_state_api_replay_events_total: 'counter',
  live_state_api_snapshots_total: 'counter',
  live_state_api_snapshot_events_total: 'counter',
  live_state_api_redis_connection_up: 'gauge',
  live_state_api_redis_reconnects_total: 'counter',
  live_state_api_webcontrol_commands_total: 'counter',
  live_state_api_publish_to_write_seconds: 'histogram',
  live_state_api_http_requests_total: 'counter',
  live_state_api_http_request_duration_seconds: 'histogram',
}

t.test('GET /metrics: 200, the Prometheus text content type, no CORS headers', async (t) => {
  const app = await build(t, redis)
  const res = await app.inject({ url: '/metrics', headers: { origin: ORIGIN } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  t.equal(res.headers['access-control-allow-origin'], undefined)
  t.equal(res.headers['access-control-allow-credentials'], undefined)
  t.match(res.body, /^# HELP /)
  t.ok(res.body.endsWith('\n'))
  // Other routes keep their CORS headers.
  const live = await app.inject({ url: '/live', headers: { origin: ORIGIN } })
  t.equal(live.headers['access-control-allow-origin'], ORIGIN)
  const post = await app.inject({ method: 'POST', url: '/metrics' })
  t.equal(post.statusCode, 405)
  t.equal(post.headers.allow, 'GET, HEAD')
})

t.test('every metric is there with HELP and TYPE, and the process metrics too', async (t) => {
  const app = await build(t, redis)
  // HTTP metrics appear with their first response.
  await app.inject('/live')
  const { exposition } = await scrape(app)
  const ours = [...exposition.types.entries()].filter(([name]) => name.startsWith('live_state_api_'))
  t.same(Object.fromEntries(ours), FAMILIES)
  for (const name of Object.keys(FAMILIES)) t.match(exposition.help.get(name), /\S/, `${name} has HELP`)
  // collectDefaultMetrics, event-loop lag included.
  t.equal(exposition.types.get('process_cpu_user_seconds_total'), 'counter')
  t.equal(exposition.types.get('process_resident_memory_bytes'), 'gauge')
  t.equal(exposition.types.get('nodejs_eventloop_lag_seconds'), 'gauge')
  t.equal(exposition.types.get('nodejs_eventloop_lag_p99_seconds'), 'gauge')
  t.equal(exposition.types.get('nodejs_heap_size_used_bytes'), 'gauge')
  t.equal(exposition.types.get('nodejs_gc_duration_seconds'), 'histogram')
})

t.test('label sets are bounded and known from the start, each at 0', async (t) => {
  const app = await build(t, redis, {
    snapshotTypes: ['Weather', 'AQI'],
    webcontrolCommands: ['next', 'prev'],
  })
  const s = await scrape(app)
  const labels = (name: string) => s.samples(name).map((x) => ({ ...x.labels, value: x.value }))
  t.same(labels('live_state_api_events_received_total'), [
    { type: 'Weather', value: 0 },
    { type: 'AQI', value: 0 },
    { type: 'webcontrol', value: 0 },
    { type: 'other', value: 0 },
  ])
  t.same(
    s
      .samples('live_state_api_events_delivered_total')
      .map((x) => `${x.labels.type}/${x.labels.outcome}=${x.value}`),
    ['Weather', 'AQI', 'webcontrol', 'other'].flatMap((type) =>
      ['sent', 'coalesced', 'dropped'].map((outcome) => `${type}/${outcome}=0`),
    ),
  )
  t.same(
    s.samples('live_state_api_messages_rejected_total').map((x) => x.labels.reason),
    ['not_utf8', 'not_json', 'not_object', 'no_type', 'unknown_command', 'other'],
  )
  t.same(labels('live_state_api_webcontrol_commands_total'), [
    { command: 'next', delivery: 'published', value: 0 },
    { command: 'next', delivery: 'local', value: 0 },
    { command: 'prev', delivery: 'published', value: 0 },
    { command: 'prev', delivery: 'local', value: 0 },
  ])
  t.same(labels('live_state_api_redis_connection_up'), [
    { role: 'command', value: 1 },
    { role: 'subscriber', value: 1 },
  ])
  for (const name of [
    'live_state_api_open_streams',
    'live_state_api_slow_clients_disconnected_total',
    'live_state_api_replays_total',
    'live_state_api_replay_events_total',
    'live_state_api_snapshots_total',
    'live_state_api_snapshot_events_total',
    'live_state_api_publish_to_write_seconds_count',
  ])
    t.equal(s.value(name), 0, name)
  t.same(s.samples(HTTP), [], 'no HTTP response yet (scrapes do not count)')
})

t.test('HTTP responses by method, route pattern and status; /metrics not counted', async (t) => {
  const app = await build(t, redis)
  const requests: [string, string, number][] = [
    ['GET', '/key/Weather', 200],
    ['GET', '/key/Moon', 200],
    ['GET', '/key/a:b?x=1', 200],
    ['HEAD', '/key/Weather', 200],
    ['GET', '/key/Environment', 200],
    ['GET', '/live', 200],
    ['PUT', '/webcontrol/pp', 202],
    ['PUT', '/webcontrol/PP', 400],
    ['GET', '/nope', 404],
    ['GET', '/nope/deeper', 404],
    ['POST', '/events', 405],
    ['GET', '/metrics', 200],
    ['GET', '/metrics', 200],
  ]
  for (const [method, url, status] of requests) {
    const res = await app.inject({ method: method as 'GET', url })
    t.equal(res.statusCode, status, `${method} ${url}`)
  }
  const s = await scrape(app)
  const counts = Object.fromEntries(
    s.samples(HTTP).map((x) => [`${x.labels.method} ${x.labels.route} ${x.labels.status_code}`, x.value]),
  )
  t.same(counts, {
    'GET /key/:key 200': 3,
    'HEAD /key/:key 200': 1,
    'GET /key/Environment 200': 1,
    'GET /live 200': 1,
    'PUT /webcontrol/:command 202': 1,
    'PUT /webcontrol/:command 400': 1,
    'GET unmatched 404': 2,
    'POST unmatched 405': 1,
  })
  t.equal(s.value(`${DURATION}_count`, { method: 'GET', route: '/key/:key', status_code: '200' }), 3)
  t.equal(
    s.value(`${DURATION}_bucket`, { method: 'GET', route: '/key/:key', status_code: '200', le: '+Inf' }),
    3,
  )
  const routes = new Set(
    s.exposition.samples.filter((x) => x.labels.route !== undefined).map((x) => x.labels.route),
  )
  t.same([...routes].sort(), ['/key/:key', '/key/Environment', '/live', '/webcontrol/:command', 'unmatched'])
})

t.test('a client that leaves before the response head counts as "aborted"', async (t) => {
  const own = await RedisServer.start()
  t.teardown(async () => {
    own.resume()
    await own.stop()
  })
  const app = await build(t, own, {}, { listen: true })
  own.freeze()
  // The handler waits for the frozen Redis (up to the command timeout); the client leaves
  // first. Hooks and handler start in the microtasks after the server's 'request' event,
  // so by the next setImmediate the request is being handled.
  const handling = new Promise<void>((resolve) =>
    app.server.once('request', () => setImmediate(() => resolve())),
  )
  const req = request(`${baseUrl(app)}/key/Frozen`, { agent: false })
  req.on('error', () => {})
  req.end()
  await handling
  req.destroy()
  const labels = { method: 'GET', route: '/key/:key', status_code: 'aborted' }
  await waitFor(async () => (await scrape(app)).valueOr0(HTTP, labels) === 1, 'the aborted request')
  const s = await scrape(app)
  t.equal(s.value(HTTP, labels), 1)
  t.equal(s.samples(HTTP).length, 1)
})

t.test('each app has a registry of its own', async (t) => {
  const first = await build(t, redis)
  const second = await build(t, redis)
  await first.inject('/live')
  await first.inject('/live')
  await second.inject('/live')
  const live = { method: 'GET', route: '/live', status_code: '200' }
  t.equal((await scrape(first)).value(HTTP, live), 2)
  t.equal((await scrape(second)).value(HTTP, live), 1)
  await first.close()
  t.equal((await scrape(second)).value(HTTP, live), 1, 'closing one leaves the other whole')
})

t.test('the test parser reads the text format: escapes, special values, timestamps', async (t) => {
  const text = [
    '# HELP a_total A help with \\\\ and \\n in it',
    '# TYPE a_total counter',
    'a_total{path="C:\\\\dir",quote="say \\"hi\\"",nl="x\\ny",comma="a,b",brace="}"} 3 1700000000000',
    'a_total{trailing="comma",} 4',
    '# a plain comment',
    'b NaN',
    'c Nan',
    'd +Inf',
    'e -Inf',
    'f 1.5e-3',
    '',
  ].join('\n')
  const parsed = parseExposition(text)
  t.equal(parsed.help.get('a_total'), 'A help with \\ and \n in it')
  t.equal(parsed.types.get('a_total'), 'counter')
  t.same(parsed.samples[0], {
    name: 'a_total',
    labels: { path: 'C:\\dir', quote: 'say "hi"', nl: 'x\ny', comma: 'a,b', brace: '}' },
    value: 3,
  })
  const s = new Scrape(text)
  t.equal(s.value('a_total', { trailing: 'comma' }), 4)
  t.ok(Number.isNaN(s.value('b')))
  t.ok(Number.isNaN(s.value('c')))
  t.equal(s.value('d'), Number.POSITIVE_INFINITY)
  t.equal(s.value('e'), Number.NEGATIVE_INFINITY)
  t.equal(s.value('f'), 0.0015)
  t.equal(s.valueOr0('missing'), 0)
  t.throws(() => s.value('missing'), /expected one sample missing/)
  t.throws(() => parseExposition('g{x="1} 2'), /unterminated/)
  t.throws(() => parseExposition('h one'), /not a sample value/)
})
