import t from 'tap'
import { parseEventId } from '../../src/lib/event-id.js'
import { type LoggedEvent, ReplayBuffer } from '../../src/lib/replay-buffer.js'

const event = (seq: number, bytes = 10): LoggedEvent => ({
  seq,
  at: 0,
  type: 'T',
  coalesce: true,
  frame: Buffer.alloc(bytes, 'x'),
})

t.test('after() returns exactly the events after a held id', async (t) => {
  const buffer = new ReplayBuffer(100, 10000)
  for (let seq = 1; seq <= 5; seq++) buffer.append(event(seq))
  t.same(
    buffer.after(2, 5)?.map((e) => e.seq),
    [3, 4, 5],
  )
  t.same(buffer.after(5, 5), [])
  t.same(
    buffer.after(0, 5)?.map((e) => e.seq),
    [1, 2, 3, 4, 5],
  )
  t.equal(buffer.after(6, 5), undefined)
})

t.test('bounded by count: an evicted gap cannot be replayed', async (t) => {
  const buffer = new ReplayBuffer(3, 10000)
  for (let seq = 1; seq <= 5; seq++) buffer.append(event(seq))
  t.equal(buffer.length, 3)
  t.equal(buffer.after(1, 5), undefined)
  t.same(
    buffer.after(2, 5)?.map((e) => e.seq),
    [3, 4, 5],
  )
})

t.test('bounded by bytes', async (t) => {
  const buffer = new ReplayBuffer(100, 25)
  for (let seq = 1; seq <= 5; seq++) buffer.append(event(seq, 10))
  t.equal(buffer.length, 2)
  t.equal(buffer.bytes, 20)
  t.equal(buffer.after(2, 5), undefined)
  t.same(
    buffer.after(3, 5)?.map((e) => e.seq),
    [4, 5],
  )
})

t.test('a long run keeps its bounds', async (t) => {
  const buffer = new ReplayBuffer(50, 1_000_000)
  for (let seq = 1; seq <= 10000; seq++) buffer.append(event(seq))
  t.equal(buffer.length, 50)
  t.same(buffer.after(9950, 10000)?.length, 50)
  t.equal(buffer.after(9949, 10000), undefined)
})

t.test('event ids', async (t) => {
  t.same(parseEventId('k1x2abc-42'), { epoch: 'k1x2abc', seq: 42 })
  t.same(parseEventId('e-0'), { epoch: 'e', seq: 0 })
  for (const bad of [
    '',
    '42',
    'abc',
    'abc-',
    '-1',
    'ABC-1',
    'abc-01',
    'abc-1-2',
    'abc- 1',
    `${'a'.repeat(60)}-1`,
    'x'.repeat(10240),
  ]) {
    t.equal(parseEventId(bad), undefined, JSON.stringify(bad.slice(0, 20)))
  }
})
