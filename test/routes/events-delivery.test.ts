import { connect } from 'node:net'
import t from 'tap'
import { baseUrl, build } from '../helpers/build.js'
import { fixture, storedForm } from '../helpers/fixtures.js'
import { RedisServer } from '../helpers/redis-server.js'
import { openEvents, type SseClient, updateEvent } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

const redis = await RedisServer.start()
t.teardown(() => redis.stop())
const db = redis.client()
t.teardown(() => db.disconnect())

const message = (type: string, n: number) => `{"type":"${type}","n":${n}}`

/** An /events client closed when the test file ends. */
async function connected(url: string, headers: Record<string, string> = {}, query = ''): Promise<SseClient> {
  const client = await openEvents(url, headers, query)
  t.teardown(() => client.close())
  return client
}

t.test('every event carries id <epoch>-<seq>, seq rising by one', async (t) => {
  const app = await build(t, redis, {}, { listen: true })
  const client = await connected(baseUrl(app))
  await waitFor(() => app.hub.size === 1, 'client')
  const other = await build(t, redis, {}, { listen: true })
  t.not(app.hub.epoch, other.hub.epoch)
  t.match(app.hub.epoch, /^[0-9a-z]+$/)
  await db.publish(app.config.updateChannel, message('A', 1))
  await app.inject({ method: 'PUT', url: '/webcontrol/pp' })
  await db.publish(app.config.updateChannel, message('B', 2))
  await client.waitFor((text) => text.includes('"n":2'), 'three events')
  const e = app.hub.epoch
  t.equal(
    client.withIds(),
    updateEvent(message('A', 1), `${e}-1`) +
      updateEvent('{"type":"webcontrol","command":"pp"}', `${e}-2`) +
      updateEvent(message('B', 2), `${e}-3`),
  )
  t.equal(app.hub.lastId, `${e}-3`)
})

t.test('resume within the buffer: exactly the missed events, in order, then live', async (t) => {
  const app = await build(t, redis, {}, { listen: true })
  const url = baseUrl(app)
  const channel = app.config.updateChannel
  const e = app.hub.epoch
  const first = await connected(url)
  await waitFor(() => app.hub.size === 1, 'client')
  for (let n = 1; n <= 3; n++) await db.publish(channel, message('W', n))
  await first.waitFor((text) => text.includes('"n":3'), 'the first three')
  first.close()
  await waitFor(() => app.hub.size === 0, 'the first connection to go')
  for (let n = 4; n <= 6; n++) await db.publish(channel, message('W', n))
  await app.inject({ method: 'PUT', url: '/webcontrol/fwd' })
  await waitFor(() => app.hub.lastId === `${e}-7`, 'the missed events to be logged')

  for (const how of ['header', 'query'] as const) {
    const client =
      how === 'header'
        ? await connected(url, { 'last-event-id': `${e}-3` })
        : await connected(url, {}, `?lastEventId=${e}-3`)
    await client.waitFor((text) => text.includes('"command":"fwd"'), `${how}: the missed events`)
    t.equal(
      client.withIds(),
      updateEvent(message('W', 4), `${e}-4`) +
        updateEvent(message('W', 5), `${e}-5`) +
        updateEvent(message('W', 6), `${e}-6`) +
        updateEvent('{"type":"webcontrol","command":"fwd"}', `${e}-7`),
      `${how}: exactly the missed events`,
    )
    client.close()
  }
  // A resume from the newest id gets nothing old, then live events.
  const current = await connected(url, { 'last-event-id': `${e}-7` })
  await waitFor(() => app.hub.size === 1, 'resumed client')
  await db.publish(channel, message('W', 8))
  await current.waitFor((text) => text.includes('"n":8'), 'the live event')
  t.equal(current.withIds(), updateEvent(message('W', 8), `${e}-8`))
})

t.test('an id that cannot be replayed gets a snapshot, never an error', async (t) => {
  const prefix = 'snap1:'
  const app = await build(
    t,
    redis,
    { keyPrefix: prefix, replayMaxEvents: 3, snapshotTypes: ['Weather', 'AQI', 'Moon'] },
    { listen: true },
  )
  const url = baseUrl(app)
  const e = app.hub.epoch
  for (const type of ['Weather', 'AQI'])
    await db.set(prefix + type, storedForm(fixture(`${type}.json`)).value)
  // Moon has no stored value: a snapshot leaves it out.
  for (let n = 1; n <= 5; n++) await db.publish(app.config.updateChannel, message('X', n))
  await waitFor(() => app.hub.lastId === `${e}-5`, 'five events')

  const snapshotOf = (id: string) =>
    updateEvent(`{"type":"Weather",${storedForm(fixture('Weather.json')).value.slice(1)}`, id) +
    updateEvent(`{"type":"AQI",${storedForm(fixture('AQI.json')).value.slice(1)}`, id)
  const cases: [string, string][] = [
    ['another process', 'zzzz9999-3'],
    ['an evicted id', `${e}-1`],
    ['an id from the future', `${e}-99`],
    ['garbage', 'not an id at all'],
    ['a 10 KB header', 'x'.repeat(10 * 1024)],
  ]
  for (const [what, id] of cases) {
    const client = await connected(url, { 'last-event-id': id })
    t.equal(client.status, 200, what)
    await client.waitFor((text) => text.includes('"AQI"'), `${what}: the snapshot`)
    t.equal(client.withIds(), snapshotOf(`${e}-5`), `${what}: a snapshot of the stored values`)
    client.close()
  }
  // The snapshot's id resumes right after it.
  await db.publish(app.config.updateChannel, message('X', 6))
  const resumed = await connected(url, { 'last-event-id': `${e}-5` })
  await resumed.waitFor((text) => text.includes('"n":6'), 'the event after the snapshot')
  t.equal(resumed.withIds(), updateEvent(message('X', 6), `${e}-6`))
})

t.test(
  '?snapshot=1 on a first connection, then live events; types seen on the channel are known',
  async (t) => {
    const prefix = 'snap2:'
    const app = await build(t, redis, { keyPrefix: prefix, snapshotTypes: ['Moon'] }, { listen: true })
    const url = baseUrl(app)
    const e = app.hub.epoch
    const moon = storedForm(fixture('Moon.json')).value
    await db.set(`${prefix}Moon`, moon)
    await db.set(`${prefix}Seen`, '{"values":{"v":1}}')
    await db.set(`${prefix}Unseen`, '{"values":{"v":2}}')
    // "Seen" becomes a known type by appearing on the channel.
    await db.publish(app.config.updateChannel, '{"type":"Seen","values":{"v":1}}')
    await waitFor(() => app.hub.knownTypes.includes('Seen'), 'Seen to be known')
    t.same(app.hub.knownTypes, ['Moon', 'Seen'])

    const client = await connected(url, {}, '?snapshot=1')
    await client.waitFor((text) => text.includes('"Seen"'), 'the snapshot')
    await db.publish(app.config.updateChannel, message('Live', 1))
    await client.waitFor((text) => text.includes('"Live"'), 'the live event')
    t.equal(
      client.withIds(),
      updateEvent(`{"type":"Moon",${moon.slice(1)}`, `${e}-1`) +
        updateEvent('{"type":"Seen","values":{"v":1}}', `${e}-1`) +
        updateEvent(message('Live', 1), `${e}-2`),
    )
  },
)

t.test('?types= filters live, replayed and snapshot events alike', async (t) => {
  const prefix = 'filter:'
  const app = await build(
    t,
    redis,
    { keyPrefix: prefix, snapshotTypes: ['Weather', 'AQI', 'Moon'] },
    { listen: true },
  )
  const url = baseUrl(app)
  const channel = app.config.updateChannel
  const e = app.hub.epoch
  await db.set(`${prefix}Weather`, '{"w":1}')
  await db.set(`${prefix}AQI`, '{"a":1}')
  await db.set(`${prefix}Moon`, '{"m":1}')

  const live = await connected(url, {}, '?types=Weather,webcontrol')
  const snap = await connected(url, {}, '?types=AQI&snapshot=1')
  await waitFor(() => app.hub.size === 2, 'clients')
  await db.publish(channel, message('Weather', 1))
  await db.publish(channel, message('AQI', 2))
  await app.inject({ method: 'PUT', url: '/webcontrol/out' })
  await db.publish(channel, message('Moon', 3))
  await db.publish(channel, message('Weather', 4))
  await live.waitFor((text) => text.includes('"n":4'), 'the filtered events')
  await snap.waitFor((text) => text.includes('"n":2'), 'the filtered events')
  t.equal(
    live.withIds(),
    updateEvent(message('Weather', 1), `${e}-1`) +
      updateEvent('{"type":"webcontrol","command":"out"}', `${e}-3`) +
      updateEvent(message('Weather', 4), `${e}-5`),
  )
  t.equal(
    snap.withIds(),
    updateEvent('{"type":"AQI","a":1}', `${e}-0`) + updateEvent(message('AQI', 2), `${e}-2`),
  )

  // Replay is filtered too.
  const replayed = await connected(url, { 'last-event-id': `${e}-0` }, '?types=Moon,AQI')
  await replayed.waitFor((text) => text.includes('"n":3'), 'the replay')
  t.equal(
    replayed.withIds(),
    updateEvent(message('AQI', 2), `${e}-2`) + updateEvent(message('Moon', 3), `${e}-4`),
  )
})

t.test('commands older than the TTL are not replayed; state updates are', async (t) => {
  const app = await build(t, redis, { commandReplayTtlMs: 300 }, { listen: true })
  const e = app.hub.epoch
  await app.inject({ method: 'PUT', url: '/webcontrol/pp' })
  await db.publish(app.config.updateChannel, message('Kept', 1))
  await waitFor(() => app.hub.lastId === `${e}-2`, 'both events')
  const fresh = await connected(baseUrl(app), { 'last-event-id': `${e}-0` })
  await fresh.waitFor((text) => text.includes('Kept'), 'the replay')
  t.equal(
    fresh.withIds(),
    updateEvent('{"type":"webcontrol","command":"pp"}', `${e}-1`) + updateEvent(message('Kept', 1), `${e}-2`),
  )
  fresh.close()
  const expiry = Date.now() + 300
  await waitFor(() => Date.now() > expiry, 'the command TTL to pass')
  const late = await connected(baseUrl(app), { 'last-event-id': `${e}-0` })
  await late.waitFor((text) => text.includes('Kept'), 'the replay')
  t.equal(late.withIds(), updateEvent(message('Kept', 1), `${e}-2`))
})

t.test('a Redis gap is healed by a snapshot of exactly the changed types', async (t) => {
  const gapRedis = await RedisServer.start()
  t.teardown(() => gapRedis.stop())
  const admin = gapRedis.client()
  t.teardown(() => admin.disconnect())
  const prefix = 'gap:'
  await admin.set(`${prefix}Weather`, '{"v":1}')
  await admin.set(`${prefix}AQI`, '{"a":1}')
  await admin.set(`${prefix}Moon`, '{"m":1}')
  const app = await build(
    t,
    gapRedis,
    { keyPrefix: prefix, snapshotTypes: ['Weather', 'AQI', 'Moon', 'Calendar'] },
    { listen: true },
  )
  await waitFor(() => app.hub.storeSynced, 'the stored values to be read')
  const client = await connected(baseUrl(app))
  await waitFor(() => app.hub.size === 1, 'client')
  const e = app.hub.epoch

  // The subscriber is cut off and cannot come back; the command connection stays.
  await admin.call('ACL', 'SETUSER', 'default', 'off')
  t.teardown(() => admin.call('ACL', 'SETUSER', 'default', 'on').catch(() => {}))
  await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
  await waitFor(() => !app.hub.subscriberReady, 'the gap to begin')
  // During the gap: Weather changes, AQI is rewritten unchanged, Calendar appears; the
  // messages on the channel are lost.
  await admin.set(`${prefix}Weather`, '{"v":2}')
  await admin.set(`${prefix}AQI`, '{"a":1}')
  await admin.set(`${prefix}Calendar`, '{"c":1}')
  await admin.publish(app.config.updateChannel, '{"type":"Weather","v":2}')
  await admin.call('ACL', 'SETUSER', 'default', 'on')
  await waitFor(() => app.hub.subscriberReady && app.hub.storeSynced, 'the gap to heal', { timeoutMs: 10000 })

  await client.waitFor((text) => text.includes('"Calendar"'), 'the healing snapshot')
  t.equal(
    client.withIds(),
    updateEvent('{"type":"Weather","v":2}', `${e}-1`) + updateEvent('{"type":"Calendar","c":1}', `${e}-2`),
  )
  t.equal(client.ended, false)
})

t.test('a stalled client gets only the newest value of each type once it reads again', async (t) => {
  const app = await build(t, redis, { clientMaxBufferBytes: 1024 * 1024 }, { listen: true })
  const channel = app.config.updateChannel
  const { port } = new URL(baseUrl(app))
  const stalled = connect(Number(port), '127.0.0.1')
  stalled.write('GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n')
  stalled.pause()
  const chunks: Buffer[] = []
  stalled.on('data', (chunk: Buffer) => chunks.push(chunk))
  stalled.on('error', () => {})
  t.teardown(() => stalled.destroy())
  await waitFor(() => app.hub.size === 1, 'client')

  // Far more NFL updates than every buffer on the way holds (about 4 MB here): the
  // server has to queue, and the queued NFL values coalesce into one.
  const nfl = fixture('NFL.json')
  for (let n = 0; n < 1500; n++) await db.publish(channel, nfl)
  // While backed up: many values of three types, and two commands.
  for (let n = 1; n <= 50; n++) {
    await db.publish(channel, message('Weather', n))
    await db.publish(channel, message('AQI', n))
    await db.publish(channel, nfl)
    if (n === 10) await app.inject({ method: 'PUT', url: '/webcontrol/pp' })
    if (n === 20) await app.inject({ method: 'PUT', url: '/webcontrol/fwd' })
  }
  const e = app.hub.epoch
  const last = Number(app.hub.lastId.split('-')[1])
  stalled.resume()
  await waitFor(() => Buffer.concat(chunks).toString().includes('"n":50}'), 'the newest values')
  const text = Buffer.concat(chunks).toString()
  const tail = text.slice(text.lastIndexOf('"command":"pp"') - 60)
  // After the commands, in order, come only the newest Weather, AQI and NFL.
  const events = tail.split('\n\n').filter((chunk) => chunk.includes('data: '))
  t.same(
    events.slice(-5).map((chunk) => /data: (.*)$/m.exec(chunk)?.[1]?.slice(0, 40)),
    [
      '{"type":"webcontrol","command":"pp"}',
      '{"type":"webcontrol","command":"fwd"}',
      message('Weather', 50),
      message('AQI', 50),
      nfl.toString().slice(0, 40),
    ],
  )
  t.ok(text.includes(`id: ${e}-${last}\n`), 'the last event is the newest')
  const received = (text.match(/^data: /gm) ?? []).length
  t.ok(received < last, `${last - received} of ${last} events were coalesced away`)
  t.equal(app.hub.size, 1, 'and the client was never disconnected')
})

t.test('past the stream limit: 503 with Retry-After and a JSON body', async (t) => {
  const app = await build(t, redis, { maxStreams: 2 }, { listen: true })
  const url = baseUrl(app)
  await connected(url)
  await connected(url)
  await waitFor(() => app.hub.size === 2, 'two streams')
  const res = await fetch(`${url}/events`, { headers: { origin: 'http://localhost:3001' } })
  t.equal(res.status, 503)
  t.equal(res.headers.get('retry-after'), '5')
  t.equal(res.headers.get('content-type'), 'application/json; charset=utf-8')
  t.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:3001')
  t.equal(await res.text(), '{"error":"Too many streams"}')
  t.equal(app.hub.size, 2)
})
