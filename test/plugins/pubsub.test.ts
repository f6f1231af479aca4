import { connect } from 'node:net'
import t, { type Test } from 'tap'
import { baseUrl, build } from '../helpers/build.js'
import { fixture } from '../helpers/fixtures.js'
import { RedisServer } from '../helpers/redis-server.js'
import { openEvents, type SseClient, updateEvent } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

async function numsub(redis: RedisServer, channel: string): Promise<number> {
  const db = redis.client()
  try {
    const reply = (await db.pubsub('NUMSUB', channel)) as [string, number]
    return Number(reply[1])
  } finally {
    db.disconnect()
  }
}

/** Publishes `count` distinct messages and checks each client got each exactly once, in order. */
async function publishAndCheck(
  t: Test,
  redis: RedisServer,
  channel: string,
  clients: SseClient[],
  tag: string,
) {
  const db = redis.client()
  t.teardown(() => db.disconnect())
  const before = clients.map((c) => c.events())
  let expected = ''
  for (let i = 0; i < 5; i++) {
    const message = `{"type":"Check","tag":"${tag}","n":${i}}`
    expected += updateEvent(message)
    t.equal(await db.publish(channel, message), 1, `${tag} #${i} has one subscriber`)
  }
  for (const [i, client] of clients.entries()) {
    await client.waitFor((text) => text.includes(`"${tag}","n":4`), `${tag} on client ${i}`)
    t.equal(
      client.events().slice((before[i] as string).length),
      expected,
      `${tag}: client ${i} got each once`,
    )
  }
}

t.test('the subscriber comes back after CLIENT KILL TYPE pubsub, subscribed exactly once', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const app = await build(t, redis, {}, { listen: true })
  const channel = app.config.updateChannel
  const client = await openEvents(baseUrl(app))
  t.teardown(() => client.close())
  await waitFor(() => app.hub.size === 1, 'client')

  const db = redis.client()
  t.teardown(() => db.disconnect())
  t.equal(await db.call('CLIENT', 'KILL', 'TYPE', 'pubsub'), 1)
  await waitFor(() => !app.hub.subscriberReady, 'the loss to be seen')
  t.equal((await app.inject('/ready')).statusCode, 503)
  await waitFor(() => app.hub.subscriberReady, 'the subscription to come back')
  t.equal((await app.inject('/ready')).statusCode, 200)
  t.equal(await numsub(redis, channel), 1)
  await publishAndCheck(t, redis, channel, [client], 'after-kill')
  t.equal(client.ended, false)
})

t.test('three Redis restarts: one subscription, no duplicates, clients stay connected', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const app = await build(t, redis, { heartbeatMs: 100 }, { listen: true })
  const channel = app.config.updateChannel
  const clients = [await openEvents(baseUrl(app)), await openEvents(baseUrl(app))]
  t.teardown(() => {
    for (const c of clients) c.close()
  })
  await waitFor(() => app.hub.size === 2, 'clients')

  for (let round = 1; round <= 3; round++) {
    await redis.stop()
    await waitFor(() => !app.hub.subscriberReady, `round ${round}: the loss to be seen`)
    const ready = await app.inject('/ready')
    t.equal(ready.statusCode, 503, `round ${round}: not ready while Redis is down`)
    t.equal(ready.body, '{"status":"unavailable"}')
    await redis.launch()
    await waitFor(() => app.hub.subscriberReady, `round ${round}: resubscribed`, { timeoutMs: 10000 })
    await waitFor(async () => (await app.inject('/ready')).statusCode === 200, `round ${round}: ready`)
  }
  t.equal(await numsub(redis, channel), 1)
  await publishAndCheck(t, redis, channel, clients, 'after-restarts')
  for (const client of clients) t.equal(client.ended, false)
  t.equal(app.hub.size, 2)
})

t.test('Redis down: /key is 503 JSON within 2 s, /events and /webcontrol still work', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const app = await build(t, redis, { heartbeatMs: 50 }, { listen: true })
  await redis.stop()
  await waitFor(() => app.redis.status !== 'ready' && !app.hub.subscriberReady, 'the outage to be seen')

  for (const url of ['/key/Weather', '/key/Environment']) {
    const started = Date.now()
    const res = await app.inject({ url, headers: { origin: 'http://localhost:3001' } })
    const elapsed = Date.now() - started
    t.equal(res.statusCode, 503, url)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8', url)
    t.equal(res.headers['access-control-allow-origin'], 'http://localhost:3001', url)
    t.equal(res.body, '{"error":"Redis unavailable"}', url)
    t.ok(elapsed <= 2000, `${url} answered in ${elapsed} ms`)
  }
  t.equal((await app.inject('/ready')).statusCode, 503)
  t.equal((await app.inject('/live')).statusCode, 200)

  const client = await openEvents(baseUrl(app))
  t.teardown(() => client.close())
  t.equal(client.status, 200)
  await waitFor(() => client.bytes().toString().startsWith(': keep-alive\n\n'), 'a heartbeat')
  const put = await app.inject({ method: 'PUT', url: '/webcontrol/rew' })
  t.equal(put.statusCode, 202)
  t.equal(put.body, '{"status":"Command queued","delivery":"local"}')
  await client.waitFor((text) => text.includes('rew'), 'the command')
  t.equal(client.events(), updateEvent('{"type":"webcontrol","command":"rew"}'))
})

t.test('Redis frozen: /key answers 503 within 2 s, and 200 once it resumes', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(async () => {
    redis.resume()
    await redis.stop()
  })
  const db = redis.client()
  await db.set('Frozen', '{"ok":true}')
  db.disconnect()
  const app = await build(t, redis)
  redis.freeze()
  const started = Date.now()
  const res = await app.inject('/key/Frozen')
  const elapsed = Date.now() - started
  t.equal(res.statusCode, 503)
  t.equal(res.body, '{"error":"Redis unavailable"}')
  t.ok(elapsed <= 2000, `answered in ${elapsed} ms`)
  const ready = await app.inject('/ready')
  t.equal(ready.statusCode, 503)
  redis.resume()
  await waitFor(async () => (await app.inject('/key/Frozen')).statusCode === 200, 'reads to work again')
  t.equal((await app.inject('/key/Frozen')).body, '{"ok":true}')
})

t.test('a client that stops reading is dropped; the others get everything', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const cap = 256 * 1024
  const app = await build(t, redis, { clientMaxBufferBytes: cap }, { listen: true })
  const { port } = new URL(baseUrl(app))

  // A raw socket that sends the request and then never reads.
  const stalled = connect(Number(port), '127.0.0.1')
  stalled.write('GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n')
  stalled.pause()
  let stalledClosed = false
  let stalledBytes = 0
  stalled.on('data', (chunk: Buffer) => {
    stalledBytes += chunk.length
  })
  stalled.on('close', () => {
    stalledClosed = true
  })
  stalled.on('error', () => {})
  t.teardown(() => stalled.destroy())

  const reader = await openEvents(baseUrl(app))
  t.teardown(() => reader.close())
  await waitFor(() => app.hub.size === 2, 'both clients')

  const db = redis.client()
  t.teardown(() => db.disconnect())
  // Each message of its own type: nothing to coalesce, so the backlog really grows.
  const nfl = fixture('NFL.json').toString()
  const message = (n: number) => nfl.replace('"type": "NFL"', `"type": "NFL${n}"`)
  const rssBefore = process.memoryUsage().rss
  let published = 0
  let expected = ''
  // Far more than the cap plus every kernel buffer on the way.
  while (app.hub.size === 2 && published < 6000) {
    await db.publish(app.config.updateChannel, message(published))
    expected += updateEvent(message(published))
    published++
    if (published % 100 === 0)
      await reader.waitFor((text) => text.includes(`"NFL${published - 1}"`), 'the reader')
  }
  t.equal(app.hub.size, 1, 'the stalled client was dropped')
  // Reading again, it finds its connection closed after less than was published.
  stalled.resume()
  await waitFor(() => stalledClosed, 'the stalled socket to see the close', { timeoutMs: 10000 })
  t.ok(stalledBytes < expected.length, `the stalled client got ${stalledBytes} of ${expected.length} bytes`)
  const rssGrowth = process.memoryUsage().rss - rssBefore
  t.ok(rssGrowth < 64 * 1024 * 1024, `memory stayed bounded (${Math.round(rssGrowth / 1024)} KiB growth)`)

  await db.publish(app.config.updateChannel, message(published))
  expected += updateEvent(message(published))
  await reader.waitFor((text) => text.includes(`"NFL${published}"`), 'every message')
  t.equal(reader.events(), expected)
  t.equal(reader.ended, false)
})

t.test('200 connect/disconnect cycles leave nothing behind', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const app = await build(t, redis, {}, { listen: true })
  const warnings: Error[] = []
  const onWarning = (w: Error) => warnings.push(w)
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))

  for (let i = 0; i < 200; i++) {
    const client = await openEvents(baseUrl(app))
    t.equal(client.status, 200)
    client.close()
  }
  await waitFor(() => app.hub.size === 0, 'every stream to be released')
  t.equal(app.hub.size, 0)
  t.same(
    warnings.map((w) => w.name),
    [],
  )
  t.equal(app.server.listenerCount('request'), 1)
})
