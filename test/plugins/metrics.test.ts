/** The hub's metrics after real traffic: exact increments between two scrapes of /metrics. */
import { randomUUID } from 'node:crypto'
import { connect } from 'node:net'
import t from 'tap'
import type { Config } from '../../src/config.js'
import { baseUrl, build } from '../helpers/build.js'
import { fixture } from '../helpers/fixtures.js'
import { HeldSink } from '../helpers/held-sink.js'
import { increase, type Scrape, scrape } from '../helpers/metrics.js'
import { RedisServer } from '../helpers/redis-server.js'
import { openEvents, updateEvent } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

const redis = await RedisServer.start()
t.teardown(() => redis.stop())
const db = redis.client()
t.teardown(() => db.disconnect())

const RECEIVED = 'live_state_api_events_received_total'
const DELIVERED = 'live_state_api_events_delivered_total'
const LATENCY = 'live_state_api_publish_to_write_seconds'
const OPEN = 'live_state_api_open_streams'

/** Per app: its own key prefix and control channel, so apps never hear each other. */
function isolated(overrides: Partial<Config> = {}): Partial<Config> {
  const id = randomUUID()
  return { keyPrefix: `${id}:`, controlChannel: `control-${id}`, ...overrides }
}

/** Each outcome's total over every type. */
function outcome(s: Scrape, name: 'sent' | 'coalesced' | 'dropped'): number {
  return s.samples(DELIVERED, { outcome: name }).reduce((sum, x) => sum + x.value, 0)
}

t.test('events received and delivered by type, and one latency observation per event', async (t) => {
  const app = await build(t, redis, isolated(), { listen: true })
  const url = baseUrl(app)
  const before = await scrape(app)
  t.equal(before.value(OPEN), 0)

  const all = await openEvents(url)
  const weatherOnly = await openEvents(url, {}, '?types=Weather')
  t.teardown(() => {
    all.close()
    weatherOnly.close()
  })
  await waitFor(() => app.hub.size === 2, 'both clients')
  t.equal((await scrape(app)).value(OPEN), 2)

  const weather = fixture('Weather.json')
  const aqi = fixture('AQI.json')
  const custom = '{"type":"Custom","n":1}'
  for (const message of [weather, aqi, custom]) await db.publish(app.config.updateChannel, message)
  await all.waitFor((text) => text.includes('"Custom"'), 'the three events')
  await weatherOnly.waitFor((text) => text.length > 0, 'the Weather event')
  t.equal(all.events(), updateEvent(weather) + updateEvent(aqi) + updateEvent(custom))
  t.equal(weatherOnly.events(), updateEvent(weather))

  const after = await scrape(app)
  t.equal(increase(before, after, RECEIVED, { type: 'Weather' }), 1)
  t.equal(increase(before, after, RECEIVED, { type: 'AQI' }), 1)
  // Custom is not a configured type: bounded labels put it under "other".
  t.equal(increase(before, after, RECEIVED, { type: 'other' }), 1)
  t.equal(increase(before, after, RECEIVED, { type: 'Moon' }), 0)
  t.same(after.samples(RECEIVED, { type: 'Custom' }), [], 'no label value for an unconfigured type')
  t.equal(increase(before, after, DELIVERED, { type: 'Weather', outcome: 'sent' }), 2)
  t.equal(increase(before, after, DELIVERED, { type: 'AQI', outcome: 'sent' }), 1)
  t.equal(increase(before, after, DELIVERED, { type: 'other', outcome: 'sent' }), 1)
  t.equal(outcome(after, 'sent') - outcome(before, 'sent'), 4)
  t.equal(outcome(after, 'coalesced') - outcome(before, 'coalesced'), 0)
  t.equal(outcome(after, 'dropped') - outcome(before, 'dropped'), 0)
  // Once per event, however many clients took it.
  t.equal(increase(before, after, `${LATENCY}_count`), 3)
  t.equal(after.value(`${LATENCY}_bucket`, { le: '+Inf' }), after.value(`${LATENCY}_count`))
  t.ok(after.value(`${LATENCY}_sum`) > before.value(`${LATENCY}_sum`), 'the latencies add up to more than 0')
  t.ok(after.value(`${LATENCY}_sum`) - before.value(`${LATENCY}_sum`) < 3, 'and to less than a second each')

  // A stream is counted as an HTTP response when it ends, and never timed.
  all.close()
  weatherOnly.close()
  await waitFor(async () => (await scrape(app)).value(OPEN) === 0, 'the streams to close')
  const requests = { method: 'GET', route: '/events', status_code: '200' }
  await waitFor(
    async () => (await scrape(app)).valueOr0('live_state_api_http_requests_total', requests) === 2,
    'both streams counted',
  )
  t.same((await scrape(app)).samples('live_state_api_http_request_duration_seconds_count', requests), [])
})

t.test('a stream nobody reads: coalesced, dropped, and timed when first taken', async (t) => {
  const cap = 4096
  // No write budget: the held sink's first write turns queueing on.
  const app = await build(
    t,
    redis,
    isolated({ clientMaxBufferBytes: cap, clientWriteBudgetBytes: 0, heartbeatMs: 600000 }),
  )
  const channel = app.config.updateChannel
  // A hub client like any /events stream, not yet attached to a socket: events queue.
  const stream = app.hub.subscribe()
  t.teardown(() => stream.end('client-closed'))
  const before = await scrape(app)
  t.equal(before.value(OPEN), 1)

  for (const n of [1, 2, 3]) await db.publish(channel, `{"type":"Weather","n":${n}}`)
  await waitFor(async () => (await scrape(app)).value(RECEIVED, { type: 'Weather' }) === 3, 'three Weather')
  let now = await scrape(app)
  t.equal(increase(before, now, DELIVERED, { type: 'Weather', outcome: 'sent' }), 3)
  // The newest value replaced the two older ones, which are never written.
  t.equal(increase(before, now, DELIVERED, { type: 'Weather', outcome: 'coalesced' }), 2)
  t.equal(increase(before, now, `${LATENCY}_count`), 0, 'nothing written yet')

  // A writer takes the queued event: its first write is timed.
  const sink = new HeldSink()
  stream.attach(sink)
  t.equal(sink.text(), updateEvent('{"type":"Weather","n":3}', `${app.hub.epoch}-3`))
  now = await scrape(app)
  t.equal(increase(before, now, `${LATENCY}_count`), 1, 'timed when the writer took it')

  // An attached stream writes the next event at once: timed after the broadcast. The
  // sink is held, so that write fills it and what follows queues.
  sink.hold()
  await db.publish(channel, '{"type":"AQI","n":1}')
  await waitFor(() => sink.text().includes('"AQI"'), 'the AQI event')
  t.equal(
    sink.text().slice(sink.text().indexOf('event: update', 10)),
    updateEvent('{"type":"AQI","n":1}', `${app.hub.epoch}-4`),
  )
  now = await scrape(app)
  t.equal(increase(before, now, `${LATENCY}_count`), 2)
  t.equal(increase(before, now, DELIVERED, { type: 'AQI', outcome: 'sent' }), 1)

  // Frames of exactly 1000 bytes (events 5 to 9): four fit in the 4096-byte queue, the
  // fifth overflows it.
  const filler = (seq: number) => {
    const head = `{"type":"Fill${seq}","pad":"`
    const overhead = updateEvent('', `${app.hub.epoch}-${seq}`).length + head.length + 2
    return `${head}${'x'.repeat(1000 - overhead)}"}`
  }
  t.equal(updateEvent(filler(5), `${app.hub.epoch}-5`).length, 1000)
  for (let seq = 5; seq <= 9; seq++) await db.publish(channel, filler(seq))
  await waitFor(() => stream.ended, 'the overflow')
  t.equal(stream.endReason, 'overflow')
  now = await scrape(app)
  t.equal(increase(before, now, RECEIVED, { type: 'other' }), 5)
  t.equal(increase(before, now, DELIVERED, { type: 'other', outcome: 'sent' }), 4)
  // The four queued ones, and the one that did not fit.
  t.equal(increase(before, now, DELIVERED, { type: 'other', outcome: 'dropped' }), 5)
  t.equal(increase(before, now, DELIVERED, { type: 'other', outcome: 'coalesced' }), 0)
  t.equal(increase(before, now, `${LATENCY}_count`), 2, 'dropped events are never timed')
  t.equal(now.value(OPEN), 0)
  // Only /events clients are disconnected as too slow; this one had no socket.
  t.equal(increase(before, now, 'live_state_api_slow_clients_disconnected_total'), 0)
})

t.test('an event no stream accepts is not timed', async (t) => {
  const app = await build(t, redis, isolated())
  const moonOnly = app.hub.subscribe({ filter: new Set(['Moon']) })
  t.teardown(() => moonOnly.end('client-closed'))
  const before = await scrape(app)
  await db.publish(app.config.updateChannel, '{"type":"Weather"}')
  await waitFor(async () => (await scrape(app)).value(RECEIVED, { type: 'Weather' }) === 1, 'the message')
  const after = await scrape(app)
  t.equal(increase(before, after, DELIVERED, { type: 'Weather', outcome: 'sent' }), 0)
  t.equal(increase(before, after, `${LATENCY}_count`), 0)
})

t.test('invalid messages are counted by reason; unknown commands too', async (t) => {
  const app = await build(t, redis, isolated(), { listen: true })
  const client = await openEvents(baseUrl(app))
  t.teardown(() => client.close())
  await waitFor(() => app.hub.size === 1, 'client')
  const before = await scrape(app)
  const channel = app.config.updateChannel
  const invalid: (string | Buffer)[] = [
    Buffer.from([0x7b, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    'not json',
    '',
    fixture('other/not-json.txt'),
    '["type"]',
    'null',
    '{"type": 5}',
    '{}',
  ]
  for (const message of invalid) await db.publish(channel, message)
  await db.publish(app.config.controlChannel, '{"type":"webcontrol","command":"dance"}')
  await db.publish(app.config.controlChannel, 'not a command')
  const good = fixture('AQI.json')
  await db.publish(channel, good)
  await client.waitFor((text) => text.includes('"AQI"'), 'the valid message')
  t.equal(client.events(), updateEvent(good))

  const after = await scrape(app)
  const rejected = (reason: string) =>
    increase(before, after, 'live_state_api_messages_rejected_total', { reason })
  t.equal(rejected('not_utf8'), 1)
  t.equal(rejected('not_json'), 3)
  t.equal(rejected('not_object'), 2)
  t.equal(rejected('no_type'), 2)
  t.equal(rejected('unknown_command'), 2)
  t.equal(rejected('other'), 0)
  t.equal(increase(before, after, RECEIVED, { type: 'AQI' }), 1)
  t.equal(increase(before, after, RECEIVED, { type: 'webcontrol' }), 0)
  t.equal(outcome(after, 'sent') - outcome(before, 'sent'), 1)
})

t.test('web control: by command and delivery; the command comes back on the control channel', async (t) => {
  const app = await build(t, redis, isolated(), { listen: true })
  const client = await openEvents(baseUrl(app))
  t.teardown(() => client.close())
  await waitFor(() => app.hub.size === 1, 'client')
  const before = await scrape(app)
  for (const command of ['pp', 'pp', 'fwd']) {
    t.equal((await app.inject({ method: 'PUT', url: `/webcontrol/${command}` })).statusCode, 202)
  }
  t.equal((await app.inject({ method: 'PUT', url: '/webcontrol/nope' })).statusCode, 400)
  await client.waitFor((text) => text.includes('fwd'), 'the commands')
  const after = await scrape(app)
  const commands = 'live_state_api_webcontrol_commands_total'
  t.equal(increase(before, after, commands, { command: 'pp', delivery: 'published' }), 2)
  t.equal(increase(before, after, commands, { command: 'fwd', delivery: 'published' }), 1)
  t.equal(increase(before, after, commands, { command: 'pp', delivery: 'local' }), 0)
  t.same(after.samples(commands, { command: 'nope' }), [])
  t.equal(increase(before, after, RECEIVED, { type: 'webcontrol' }), 3)
  t.equal(increase(before, after, DELIVERED, { type: 'webcontrol', outcome: 'sent' }), 3)
})

t.test('Redis connections: state by role, reconnects after CLIENT KILL and a restart', async (t) => {
  const own = await RedisServer.start()
  t.teardown(() => own.stop())
  const app = await build(t, own, isolated(), { listen: true })
  const up = (s: Scrape, role: string) => s.value('live_state_api_redis_connection_up', { role })
  const reconnects = 'live_state_api_redis_reconnects_total'
  const before = await scrape(app)
  t.equal(up(before, 'command'), 1)
  t.equal(up(before, 'subscriber'), 1)
  t.equal(before.value(reconnects, { role: 'command' }), 0)
  t.equal(before.value(reconnects, { role: 'subscriber' }), 0)

  const ownDb = own.client()
  t.teardown(() => ownDb.disconnect())
  t.equal(await ownDb.call('CLIENT', 'KILL', 'TYPE', 'pubsub'), 1)
  await waitFor(() => !app.hub.subscriberReady, 'the loss to be seen')
  await waitFor(() => app.hub.subscriberReady, 'the subscription to come back')
  let now = await scrape(app)
  t.equal(now.value(reconnects, { role: 'subscriber' }), 1)
  t.equal(now.value(reconnects, { role: 'command' }), 0)
  t.equal(up(now, 'subscriber'), 1)

  // Redis down: both 0, /metrics still answers, a command is delivered locally.
  ownDb.disconnect()
  await own.stop()
  await waitFor(() => app.redis.status !== 'ready' && !app.hub.subscriberReady, 'the outage')
  now = await scrape(app)
  t.equal(up(now, 'command'), 0)
  t.equal(up(now, 'subscriber'), 0)
  const client = await openEvents(baseUrl(app))
  t.teardown(() => client.close())
  await waitFor(() => app.hub.size === 1, 'client')
  const put = await app.inject({ method: 'PUT', url: '/webcontrol/rew' })
  t.equal(put.body, '{"status":"Command queued","delivery":"local"}')
  await client.waitFor((text) => text.includes('rew'), 'the local command')
  const during = await scrape(app)
  const commands = 'live_state_api_webcontrol_commands_total'
  t.equal(increase(before, during, commands, { command: 'rew', delivery: 'local' }), 1)
  // Not from Redis, but delivered all the same.
  t.equal(increase(before, during, RECEIVED, { type: 'webcontrol' }), 0)
  t.equal(increase(before, during, DELIVERED, { type: 'webcontrol', outcome: 'sent' }), 1)

  await own.launch()
  await waitFor(() => app.hub.subscriberReady && app.redis.status === 'ready', 'both back', {
    timeoutMs: 10000,
  })
  now = await scrape(app)
  t.equal(up(now, 'command'), 1)
  t.equal(up(now, 'subscriber'), 1)
  t.equal(now.value(reconnects, { role: 'command' }), 1)
  t.equal(now.value(reconnects, { role: 'subscriber' }), 2)
})

t.test('replays and snapshots served, and the events they sent', async (t) => {
  const overrides = isolated()
  await db.set(`${overrides.keyPrefix}Weather`, '{"temp":1}')
  await db.set(`${overrides.keyPrefix}AQI`, '{"aqi":2}')
  const app = await build(t, redis, overrides, { listen: true })
  const url = baseUrl(app)
  const first = await openEvents(url)
  t.teardown(() => first.close())
  await waitFor(() => app.hub.size === 1, 'client')
  for (const type of ['Weather', 'AQI', 'Moon'])
    await db.publish(app.config.updateChannel, `{"type":"${type}"}`)
  await first.waitFor((text) => text.includes('Moon'), 'three events')
  first.close()
  const epoch = app.hub.epoch
  const before = await scrape(app)

  // Resumes from the buffer: two events, then none.
  const resumed = await openEvents(url, { 'last-event-id': `${epoch}-1` })
  t.teardown(() => resumed.close())
  const upToDate = await openEvents(url, {}, `?lastEventId=${epoch}-3`)
  t.teardown(() => upToDate.close())
  // Snapshots: the stored AQI and Weather (Moon has no stored value).
  const snapshot = await openEvents(url, {}, '?snapshot=1')
  t.teardown(() => snapshot.close())
  const stranger = await openEvents(url, { 'last-event-id': 'otherepoch-1' })
  t.teardown(() => stranger.close())
  await resumed.waitFor((text) => text.includes('Moon'), 'the replay')
  await snapshot.waitFor((text) => text.includes('temp'), 'the snapshot')
  await stranger.waitFor((text) => text.includes('temp'), 'the snapshot for an unknown id')
  await waitFor(() => app.hub.size === 4, 'four streams')
  t.equal(resumed.events(), updateEvent('{"type":"AQI"}') + updateEvent('{"type":"Moon"}'))
  t.equal(upToDate.events(), '')
  // In SNAPSHOT_TYPES' order.
  const stored = updateEvent('{"type":"AQI","aqi":2}') + updateEvent('{"type":"Weather","temp":1}')
  t.equal(snapshot.events(), stored)
  t.equal(stranger.events(), stored)

  const after = await scrape(app)
  t.equal(increase(before, after, 'live_state_api_replays_total'), 2)
  t.equal(increase(before, after, 'live_state_api_replay_events_total'), 2)
  t.equal(increase(before, after, 'live_state_api_snapshots_total'), 2)
  t.equal(increase(before, after, 'live_state_api_snapshot_events_total'), 4)
  // Replayed and snapshot events are written directly: not live deliveries, not timed.
  t.equal(outcome(after, 'sent') - outcome(before, 'sent'), 0)
  t.equal(increase(before, after, `${LATENCY}_count`), 0)
})

t.test('a stalled /events client is disconnected as too slow; exact drops', async (t) => {
  const cap = 256 * 1024
  const app = await build(t, redis, isolated({ clientMaxBufferBytes: cap, heartbeatMs: 600000 }), {
    listen: true,
  })
  const { port } = new URL(baseUrl(app))

  // A raw socket that sends the request and then never reads.
  const stalled = connect(Number(port), '127.0.0.1')
  stalled.write('GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n')
  stalled.pause()
  let stalledClosed = false
  const received: Buffer[] = []
  stalled.on('data', (chunk: Buffer) => received.push(chunk))
  stalled.on('close', () => {
    stalledClosed = true
  })
  stalled.on('error', () => {})
  t.teardown(() => stalled.destroy())
  const reader = await openEvents(baseUrl(app))
  t.teardown(() => reader.close())
  await waitFor(() => app.hub.size === 2, 'both clients')
  const before = await scrape(app)

  // Every frame exactly 8000 bytes, each of its own type (nothing to coalesce): the
  // stalled queue holds floor(cap / 8000) = 32 of them when the next one overflows it.
  const size = 8000
  const seq0 = Number(app.hub.lastId.split('-')[1])
  const message = (n: number) => {
    const head = `{"type":"Stall${n}","pad":"`
    const overhead = updateEvent('', `${app.hub.epoch}-${seq0 + n + 1}`).length + head.length + 2
    return `${head}${'x'.repeat(size - overhead)}"}`
  }
  t.equal(Buffer.byteLength(updateEvent(message(0), `${app.hub.epoch}-${seq0 + 1}`)), size)
  let published = 0
  while (app.hub.size === 2 && published < 6000) {
    await db.publish(app.config.updateChannel, message(published))
    published++
    if (published % 50 === 0)
      await reader.waitFor((text) => text.includes(`"Stall${published - 1}"`), 'the reader', 10000)
  }
  await reader.waitFor((text) => text.includes(`"Stall${published - 1}"`), 'every message', 10000)
  t.equal(app.hub.size, 1, 'the stalled client was dropped')
  stalled.resume()
  await waitFor(() => stalledClosed, 'the stalled socket to see the close', { timeoutMs: 10000 })

  const after = await scrape(app)
  const other = (o: string) => increase(before, after, DELIVERED, { type: 'other', outcome: o })
  const queued = Math.floor(cap / size)
  t.equal(increase(before, after, 'live_state_api_slow_clients_disconnected_total'), 1)
  t.equal(increase(before, after, RECEIVED, { type: 'other' }), published)
  t.equal(other('dropped'), queued + 1, 'the full queue and the event that did not fit')
  t.equal(other('coalesced'), 0)
  // The reader took every event; the stalled client those it wrote before it stopped, and
  // then a full queue. What reached its socket depends on kernel buffers: at least every
  // event whose start it read was written.
  const written = other('sent') - published - queued
  const starts = Buffer.concat(received).toString('latin1').split('"type":"Stall').length - 1
  t.ok(starts > 0 && written >= starts, `${written} events written, ${starts} read`)
  t.equal(after.value(OPEN), 1)
  t.equal(increase(before, after, `${LATENCY}_count`), published, 'every event timed once')
})
