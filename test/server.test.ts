import t from 'tap'
import { RedisServer } from './helpers/redis-server.js'
import { startServer, statusOf } from './helpers/server-process.js'
import { openEvents, updateEvent } from './helpers/sse-client.js'
import { waitFor } from './helpers/wait.js'

t.test('SIGTERM with clients connected: streams end, exit 0 within 10 s', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const server = await startServer({ REDIS_URL: redis.url, UPDATE_CHANNEL: 'sigterm' })
  t.teardown(() => server.child.kill('SIGKILL'))
  await waitFor(async () => (await statusOf(`${server.url}/ready`)) === 200, 'the server to be ready', {
    timeoutMs: 20000,
  })

  const clients = await Promise.all([1, 2, 3].map(() => openEvents(server.url)))
  const db = redis.client()
  t.teardown(() => db.disconnect())
  await waitFor(
    async () => Number(((await db.pubsub('NUMSUB', 'sigterm')) as [string, number])[1]) === 1,
    'subscribed',
  )
  await db.publish('sigterm', '{"type":"Before"}')
  for (const client of clients) await client.waitFor((text) => text.includes('Before'), 'the event')

  const started = Date.now()
  server.child.kill('SIGTERM')
  const { code, signal } = await server.exited
  const elapsed = Date.now() - started
  t.equal(code, 0)
  t.equal(signal, null)
  t.ok(elapsed < 10000, `exited in ${elapsed} ms`)
  for (const client of clients) {
    await waitFor(() => client.ended, 'the stream to end')
    t.equal(client.events(), updateEvent('{"type":"Before"}'))
  }
  t.match(server.output(), /"signal":"SIGTERM","msg":"shutting down"/)
})

t.test('Redis unreachable at start: serves /live, not ready, then ready on its own', async (t) => {
  const redis = await RedisServer.start()
  await redis.stop()
  t.teardown(() => redis.stop())
  const server = await startServer({ REDIS_URL: redis.url })
  t.teardown(() => server.child.kill('SIGKILL'))
  await waitFor(async () => (await statusOf(`${server.url}/live`)) === 200, 'the server to serve /live', {
    timeoutMs: 20000,
  })
  t.equal(await statusOf(`${server.url}/ready`), 503)
  t.equal(await statusOf(`${server.url}/key/Weather`), 503)
  await redis.launch()
  await waitFor(async () => (await statusOf(`${server.url}/ready`)) === 200, 'ready once Redis appears', {
    timeoutMs: 10000,
  })
  t.equal(await statusOf(`${server.url}/key/Weather`), 200)
  server.child.kill('SIGTERM')
  t.equal((await server.exited).code, 0)
})

t.test('invalid configuration stops start-up with one line naming the variable', async (t) => {
  const cases: [Record<string, string>, string][] = [
    [
      { PORT: 'eighty' },
      'live-state-api: invalid configuration: PORT must be a whole number (got "eighty")\n',
    ],
    [
      { REDIS_URL: 'http://redis' },
      'live-state-api: invalid configuration: REDIS_URL must start with redis:// or rediss:// (got "http://redis")\n',
    ],
    [
      { LOG_LEVEL: 'chatty' },
      'live-state-api: invalid configuration: LOG_LEVEL is invalid: Expected union value (got "chatty")\n',
    ],
  ]
  for (const [env, message] of cases) {
    const server = await startServer(env)
    const { code } = await server.exited
    t.equal(code, 1, JSON.stringify(env))
    t.equal(server.output(), message, JSON.stringify(env))
  }
})
