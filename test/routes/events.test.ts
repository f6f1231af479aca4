import t from 'tap'
import { baseUrl, build, ORIGIN } from '../helpers/build.js'
import { fixture, messageFixtures } from '../helpers/fixtures.js'
import { RedisServer } from '../helpers/redis-server.js'
import { openEvents, updateEvent } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

const redis = await RedisServer.start()
t.teardown(() => redis.stop())
const db = redis.client()
t.teardown(() => db.disconnect())

t.test('GET /events: 200, stream headers, kept open', async (t) => {
  const app = await build(t, redis, {}, { listen: true })
  const client = await openEvents(baseUrl(app))
  t.teardown(() => client.close())
  t.equal(client.status, 200)
  t.equal(client.headers['content-type'], 'text/event-stream; charset=utf-8')
  t.equal(client.headers['cache-control'], 'no-cache, no-store, no-transform')
  t.equal(client.headers['x-accel-buffering'], 'no')
  t.equal(client.headers['content-encoding'], undefined)
  t.equal(client.headers['transfer-encoding'], 'chunked')
  await waitFor(() => app.hub.size === 1, 'the client to be registered')
  t.equal(client.ended, false)
})

t.test('every fixture reaches two clients byte for byte, in order', async (t) => {
  const app = await build(t, redis, {}, { listen: true })
  const url = baseUrl(app)
  const clients = [await openEvents(url), await openEvents(url)]
  t.teardown(() => {
    for (const c of clients) c.close()
  })
  await waitFor(() => app.hub.size === 2, 'both clients')
  const names = messageFixtures()
  let expected = ''
  for (const [i, name] of names.entries()) {
    const bytes = fixture(name)
    expected += updateEvent(bytes, `${app.hub.epoch}-${i + 1}`)
    t.equal(await db.publish(app.config.updateChannel, bytes), 1, `published ${name}`)
  }
  for (const client of clients) {
    await waitFor(() => client.bytes().length >= Buffer.byteLength(expected), 'all fixtures')
    t.equal(client.bytes().toString(), expected)
  }
})

t.test('a message with newlines becomes several data lines', async (t) => {
  const app = await build(t, redis, {}, { listen: true })
  const client = await openEvents(baseUrl(app))
  t.teardown(() => client.close())
  await waitFor(() => app.hub.size === 1, 'client')
  await db.publish(app.config.updateChannel, '{"type": "Multi",\n  "values": [1,\n 2]}')
  await client.waitFor((text) => text.includes('2]}'), 'the event')
  t.equal(client.events(), 'event: update\ndata: {"type": "Multi",\ndata:   "values": [1,\ndata:  2]}\n\n')
})

t.test('invalid messages are dropped and the next valid one flows', async (t) => {
  const app = await build(t, redis, {}, { listen: true })
  const client = await openEvents(baseUrl(app))
  t.teardown(() => client.close())
  await waitFor(() => app.hub.size === 1, 'client')
  const channel = app.config.updateChannel
  await db.publish(channel, fixture('other/legacy-update-notification.txt'))
  await db.publish(channel, fixture('other/not-json.txt'))
  await db.publish(channel, fixture('other/dev_update-quotes.json'))
  await db.publish(
    channel,
    Buffer.from([0x7b, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  )
  await db.publish(channel, '["type"]')
  await db.publish(channel, '{"type": 5}')
  await db.publish(channel, '')
  const good = fixture('AQI.json')
  await db.publish(channel, good)
  await client.waitFor((text) => text.includes('"AQI"'), 'the valid message')
  t.equal(client.events(), updateEvent(good))
})

t.test('messages on other channels are not sent', async (t) => {
  const app = await build(t, redis, {}, { listen: true })
  const client = await openEvents(baseUrl(app))
  t.teardown(() => client.close())
  await waitFor(() => app.hub.size === 1, 'client')
  await db.publish('raw', fixture('raw/AQI.json'))
  await db.publish(`${app.config.updateChannel}-other`, fixture('Moon.json'))
  const marker = fixture('Events.json')
  await db.publish(app.config.updateChannel, marker)
  await client.waitFor((text) => text.includes('"Events"'), 'the marker')
  t.equal(client.events(), updateEvent(marker))
})

t.test('a comment is sent at least every heartbeat interval while idle', async (t) => {
  const app = await build(t, redis, { heartbeatMs: 50 }, { listen: true })
  const client = await openEvents(baseUrl(app))
  t.teardown(() => client.close())
  await waitFor(() => client.bytes().toString() === ': keep-alive\n\n: keep-alive\n\n', 'two heartbeats', {
    timeoutMs: 2000,
  })
  t.equal(client.bytes().toString(), ': keep-alive\n\n: keep-alive\n\n')
})

t.test('the stream carries CORS headers for an allowed origin', async (t) => {
  const app = await build(t, redis, {}, { listen: true })
  const client = await openEvents(baseUrl(app), { origin: ORIGIN })
  t.teardown(() => client.close())
  t.equal(client.headers['access-control-allow-origin'], ORIGIN)
  t.equal(client.headers['access-control-allow-credentials'], 'true')
  t.equal(client.headers.vary, 'Origin')
  t.equal(client.headers['content-type'], 'text/event-stream; charset=utf-8')
})

t.test('a client that explicitly refuses event-stream gets a JSON 406', async (t) => {
  const app = await build(t, redis)
  const res = await app.inject({ url: '/events', headers: { accept: 'application/json' } })
  t.equal(res.statusCode, 406)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.same(res.json(), {
    statusCode: 406,
    error: 'Not Acceptable',
    message: "This endpoint only produces 'text/event-stream'.",
  })
})

t.test('a client that leaves is released at once', async (t) => {
  const app = await build(t, redis, {}, { listen: true })
  const client = await openEvents(baseUrl(app))
  await waitFor(() => app.hub.size === 1, 'client')
  client.close()
  await waitFor(() => app.hub.size === 0, 'the client to be released')
  t.equal(app.hub.size, 0)
})
