import t from 'tap'
import {
  ClientStream,
  type DeliveryTally,
  type EndReason,
  type StreamEvent,
} from '../../src/lib/client-stream.js'

const state = (type: string, text: string): StreamEvent => ({
  type,
  frame: Buffer.from(text),
  coalesce: true,
})
const command = (text: string): StreamEvent => ({
  type: 'webcontrol',
  frame: Buffer.from(text),
  coalesce: false,
})
const heartbeat: StreamEvent = { type: undefined, frame: Buffer.from(': hb\n\n'), coalesce: true }

function make(maxBytes = 100, filter?: Set<string>) {
  const reasons: EndReason[] = []
  const stream = new ClientStream({ maxBytes, filter, onEnd: (reason) => reasons.push(reason) })
  return { stream, reasons }
}

async function take(stream: ClientStream, n: number): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const { value, done } = await stream.next()
    if (done) break
    out.push(value.toString())
  }
  return out
}

t.test('queued events come out in order', async (t) => {
  const { stream } = make()
  t.equal(stream.push(state('A', 'a')), true)
  t.equal(stream.push(state('B', 'bb')), true)
  t.equal(stream.queuedBytes, 3)
  t.same(await take(stream, 2), ['a', 'bb'])
  t.equal(stream.queuedBytes, 0)
})

t.test('a waiting reader gets the next push at once', async (t) => {
  const { stream } = make()
  const pending = stream.next()
  stream.push(state('A', 'x'))
  t.same(await pending, { value: Buffer.from('x'), done: false })
})

t.test('end() resolves a waiting reader, runs onEnd once, and later pushes are refused', async (t) => {
  const { stream, reasons } = make()
  const pending = stream.next()
  stream.end('client-closed')
  stream.end('shutdown')
  t.same(await pending, { value: undefined, done: true })
  t.same(reasons, ['client-closed'])
  t.equal(stream.endReason, 'client-closed')
  t.equal(stream.push(state('A', 'late')), false)
  t.same(await stream.next(), { value: undefined, done: true })
})

t.test('passing the byte cap ends the stream with overflow and frees the queue', async (t) => {
  const { stream, reasons } = make(10)
  t.equal(stream.push(command('12345')), true)
  t.equal(stream.push(command('67890')), true)
  t.equal(stream.push(command('!')), false)
  t.same(reasons, ['overflow'])
  t.equal(stream.queuedBytes, 0)
  t.same(await stream.next(), { value: undefined, done: true })
})

t.test('while queued, a newer state of a type replaces the older; commands keep their order', async (t) => {
  const { stream } = make(1000)
  stream.push(state('Weather', 'w1'))
  stream.push(command('pp'))
  stream.push(state('AQI', 'a1'))
  stream.push(state('Weather', 'w2'))
  stream.push(command('fwd'))
  stream.push(heartbeat)
  stream.push(state('Weather', 'w3'))
  stream.push(heartbeat)
  t.equal(stream.coalesced, 3)
  t.equal(stream.queuedBytes, 'pp'.length + 'a1'.length + 'fwd'.length + 'w3'.length + ': hb\n\n'.length)
  t.same(await take(stream, 5), ['pp', 'a1', 'fwd', 'w3', ': hb\n\n'])
  // Once written, a type is free again.
  stream.push(state('Weather', 'w4'))
  t.same(await take(stream, 1), ['w4'])
})

t.test('coalescing keeps a stalled client within its cap forever', async (t) => {
  const { stream, reasons } = make(200)
  let refused = 0
  for (let i = 0; i < 10000; i++) {
    if (!stream.push(state(`T${i % 5}`, `v${i}`.padEnd(30, '.')))) refused++
  }
  t.equal(refused, 0)
  t.same(reasons, [])
  t.equal(stream.queuedBytes, 150)
  t.same(
    (await take(stream, 5)).map((v) => v.replace(/\.+$/, '')),
    ['v9995', 'v9996', 'v9997', 'v9998', 'v9999'],
  )
})

t.test('a filter lets through only its types, and every heartbeat', async (t) => {
  const { stream } = make(1000, new Set(['AQI', 'webcontrol']))
  t.equal(stream.accepts('AQI'), true)
  t.equal(stream.accepts('Weather'), false)
  t.equal(stream.push(state('Weather', 'w')), false)
  t.equal(stream.push(state('AQI', 'a')), true)
  t.equal(stream.push(command('pp')), true)
  t.equal(stream.push(heartbeat), true)
  t.same(await take(stream, 3), ['a', 'pp', ': hb\n\n'])
})

t.test('breaking out of for-await ends the stream', async (t) => {
  const { stream, reasons } = make()
  stream.push(state('A', 'a'))
  stream.push(state('B', 'b'))
  const seen: string[] = []
  for await (const c of stream) {
    seen.push(c.toString())
    break
  }
  t.same(seen, ['a'])
  t.same(reasons, ['client-closed'])
})

/** A tally that records what the stream reports, as the metrics would count it. */
function recorder() {
  const firstWrites: string[] = []
  const discarded: string[] = []
  const tally: DeliveryTally = {
    direct: 0,
    coalesced: 0,
    refused: 0,
    firstWrite(event) {
      firstWrites.push(event.frame.toString())
      event.receivedAt = 0
    },
    discarded(events) {
      discarded.push(...events.map((e) => e.frame.toString()))
    },
  }
  return { tally, firstWrites, discarded }
}

t.test('the tally hears direct hand-overs, coalescing, refusals and discards', async (t) => {
  const { tally, firstWrites, discarded } = recorder()
  const stream = new ClientStream({ maxBytes: 10, onEnd: () => {}, tally })
  const timed = (type: string, text: string): StreamEvent => ({ ...state(type, text), receivedAt: 1 })

  // A waiting reader takes the event at once: direct, and not timed by the stream.
  const waiting = stream.next()
  t.equal(stream.push(timed('A', 'a1')), true)
  t.equal((await waiting).value?.toString(), 'a1')
  t.same([tally.direct, tally.coalesced, tally.refused], [1, 0, 0])
  t.same(firstWrites, [])

  // Queued: the newer A replaces the older; the first dequeue of a timed event is reported once.
  const a3 = timed('A', 'a3')
  t.equal(stream.push(timed('A', 'a2')), true)
  t.equal(stream.push(a3), true)
  t.equal(stream.push(heartbeat), true)
  t.same([tally.direct, tally.coalesced, tally.refused], [1, 1, 0])
  t.same(await take(stream, 1), ['a3'])
  t.same(firstWrites, ['a3'])
  t.equal(a3.receivedAt, 0)
  // Another stream taking the same event later does not report it again.
  const other = new ClientStream({ maxBytes: 10, onEnd: () => {}, tally })
  other.push(a3)
  t.same(await take(other, 1), ['a3'])
  t.same(firstWrites, ['a3'])
  t.same(await take(stream, 1), [': hb\n\n'])

  // Overflow: the refused event is counted; what was queued is discarded (heartbeats aside).
  t.equal(stream.push(state('B', 'bb')), true)
  t.equal(stream.push(heartbeat), true)
  t.equal(stream.push(command('cc')), true)
  t.equal(stream.queuedBytes, 10)
  t.equal(stream.push(state('D', 'd')), false)
  t.equal(stream.endReason, 'overflow')
  t.same([tally.direct, tally.coalesced, tally.refused], [1, 1, 1])
  t.same(discarded, ['bb', 'cc'])

  // Ending with nothing queued discards nothing.
  other.end('client-closed')
  t.same(discarded, ['bb', 'cc'])
})
