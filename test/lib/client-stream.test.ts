import t from 'tap'
import { ClientStream, type EndReason } from '../../src/lib/client-stream.js'

const chunk = (text: string) => Buffer.from(text)

t.test('queued chunks come out in order', async (t) => {
  const stream = new ClientStream(100, () => {})
  t.equal(stream.push(chunk('a')), true)
  t.equal(stream.push(chunk('bb')), true)
  t.equal(stream.queuedBytes, 3)
  t.same(await stream.next(), { value: chunk('a'), done: false })
  t.same(await stream.next(), { value: chunk('bb'), done: false })
  t.equal(stream.queuedBytes, 0)
})

t.test('a waiting reader gets the next push at once', async (t) => {
  const stream = new ClientStream(100, () => {})
  const pending = stream.next()
  stream.push(chunk('x'))
  t.same(await pending, { value: chunk('x'), done: false })
})

t.test('end() resolves a waiting reader, runs onEnd once, and later pushes are refused', async (t) => {
  const reasons: EndReason[] = []
  const stream = new ClientStream(100, (reason) => reasons.push(reason))
  const pending = stream.next()
  stream.end('client-closed')
  stream.end('shutdown')
  t.same(await pending, { value: undefined, done: true })
  t.same(reasons, ['client-closed'])
  t.equal(stream.endReason, 'client-closed')
  t.equal(stream.push(chunk('late')), false)
  t.same(await stream.next(), { value: undefined, done: true })
})

t.test('passing the byte cap ends the stream with overflow and frees the queue', async (t) => {
  const reasons: EndReason[] = []
  const stream = new ClientStream(10, (reason) => reasons.push(reason))
  t.equal(stream.push(chunk('12345')), true)
  t.equal(stream.push(chunk('67890')), true)
  t.equal(stream.push(chunk('!')), false)
  t.same(reasons, ['overflow'])
  t.equal(stream.queuedBytes, 0)
  t.same(await stream.next(), { value: undefined, done: true })
})

t.test('breaking out of for-await ends the stream', async (t) => {
  const reasons: EndReason[] = []
  const stream = new ClientStream(100, (reason) => reasons.push(reason))
  stream.push(chunk('a'))
  stream.push(chunk('b'))
  const seen: string[] = []
  for await (const c of stream) {
    seen.push(c.toString())
    break
  }
  t.same(seen, ['a'])
  t.same(reasons, ['client-closed'])
})
