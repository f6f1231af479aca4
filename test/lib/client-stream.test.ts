import { once } from 'node:events'
import t from 'tap'
import { ClientStream, type EndReason, type StreamEvent } from '../../src/lib/client-stream.js'
import { HeldSink } from '../helpers/held-sink.js'

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
const heartbeat: StreamEvent = { type: undefined, frame: Buffer.from('hb;'), coalesce: true }

function make(maxBytes = 100, filter?: Set<string>) {
  const reasons: EndReason[] = []
  const stream = new ClientStream({ maxBytes, filter, onEnd: (reason) => reasons.push(reason) })
  return { stream, reasons, sink: new HeldSink() }
}

t.test('before attach() events queue; attach writes them in order, then each event at once', async (t) => {
  const { stream, sink } = make()
  t.equal(stream.push(state('A', 'a;')), true)
  t.equal(stream.push(command('pp;')), true)
  t.equal(stream.queuedBytes, 5)
  stream.attach(sink)
  t.equal(sink.text(), 'a;pp;')
  t.equal(stream.queuedBytes, 0)
  t.equal(stream.push(state('B', 'b;')), true)
  t.equal(sink.text(), 'a;pp;b;')
  t.equal(stream.queuedBytes, 0)
})

t.test(
  'a full sink turns queueing on until drain; newer states replace older ones, commands keep order',
  async (t) => {
    const { stream, sink } = make(1000)
    stream.attach(sink)
    sink.hold()
    stream.push(state('Weather', 'w0;'))
    t.equal(sink.text(), 'w0;', 'the first write goes through and fills the sink')
    stream.push(state('Weather', 'w1;'))
    stream.push(command('pp;'))
    stream.push(state('AQI', 'a1;'))
    stream.push(state('Weather', 'w2;'))
    stream.push(command('fwd;'))
    stream.push(heartbeat)
    stream.push(state('Weather', 'w3;'))
    stream.push(heartbeat)
    t.equal(sink.text(), 'w0;', 'nothing more while full')
    t.equal(stream.coalesced, 3)
    t.equal(stream.queuedBytes, 'pp;a1;fwd;w3;hb;'.length)
    const drained = once(sink, 'drain')
    sink.release()
    await drained
    t.equal(sink.text(), 'w0;pp;a1;fwd;w3;hb;')
    t.equal(stream.queuedBytes, 0)
    stream.push(state('Weather', 'w4;'))
    t.equal(sink.text(), 'w0;pp;a1;fwd;w3;hb;w4;', 'written at once again')
  },
)

t.test('coalescing keeps a stalled client within its cap forever', async (t) => {
  const { stream, reasons, sink } = make(200)
  stream.attach(sink)
  sink.hold()
  let refused = 0
  for (let i = 0; i < 10000; i++) {
    if (!stream.push(state(`T${i % 5}`, `v${i};`.padEnd(30, '.')))) refused++
  }
  t.equal(refused, 0)
  t.same(reasons, [])
  t.equal(stream.queuedBytes, 150)
  const drained = once(sink, 'drain')
  sink.release()
  await drained
  t.same(
    sink
      .text()
      .split(';')
      .map((v) => v.replace(/^\.+/, ''))
      .filter((v) => v !== ''),
    ['v0', 'v9995', 'v9996', 'v9997', 'v9998', 'v9999'],
  )
})

t.test('passing the byte cap ends the stream with overflow and frees the queue', async (t) => {
  const { stream, reasons, sink } = make(10)
  stream.attach(sink)
  sink.hold()
  t.equal(stream.push(command('first')), true)
  t.equal(stream.push(command('12345')), true)
  t.equal(stream.push(command('67890')), true)
  t.equal(stream.push(command('!')), false)
  t.same(reasons, ['overflow'])
  t.equal(await stream.finished, 'overflow')
  t.equal(stream.queuedBytes, 0)
  t.equal(sink.listenerCount('drain'), 0, 'no listener left on the socket')
})

t.test(
  'end() is idempotent, resolves finished with the first reason, and refuses later pushes',
  async (t) => {
    const { stream, reasons, sink } = make()
    stream.attach(sink)
    t.equal(sink.listenerCount('drain'), 1)
    stream.end('client-closed')
    stream.end('shutdown')
    t.same(reasons, ['client-closed'])
    t.equal(stream.endReason, 'client-closed')
    t.equal(await stream.finished, 'client-closed')
    t.equal(stream.push(state('A', 'late')), false)
    t.equal(sink.text(), '')
    t.equal(sink.listenerCount('drain'), 0)
  },
)

t.test('a filter lets through only its types, and every heartbeat', async (t) => {
  const { stream, sink } = make(1000, new Set(['AQI', 'webcontrol']))
  stream.attach(sink)
  t.equal(stream.accepts('AQI'), true)
  t.equal(stream.accepts('Weather'), false)
  t.equal(stream.push(state('Weather', 'w;')), false)
  t.equal(stream.push(state('AQI', 'a;')), true)
  t.equal(stream.push(command('pp;')), true)
  t.equal(stream.push(heartbeat), true)
  t.equal(sink.text(), 'a;pp;hb;')
})

t.test('a write budget lets a short burst through whole before queueing starts', async (t) => {
  const stream = new ClientStream({ maxBytes: 1000, onEnd: () => {}, writeBudget: 9 })
  const sink = new HeldSink()
  stream.attach(sink)
  sink.hold()
  for (const n of [1, 2, 3, 4, 5]) stream.push(state('W', `w${n};`))
  // w1; to w3; are written (9 bytes wait in the sink), then w4; and w5; queue and coalesce.
  t.equal(sink.writableLength, 9, 'three writes wait in the sink')
  t.equal(stream.coalesced, 1)
  t.equal(stream.queuedBytes, 3)
  const drained = once(sink, 'drain')
  sink.release()
  await drained
  t.equal(sink.text(), 'w1;w2;w3;w5;')
})
