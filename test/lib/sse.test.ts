import t from 'tap'
import { frameUpdate, HEARTBEAT } from '../../src/lib/sse.js'
import { fixture } from '../helpers/fixtures.js'

t.test('a one-line message is one data line with the exact bytes', async (t) => {
  const message = fixture('Weather.json')
  t.equal(frameUpdate(message).toString(), `event: update\ndata: ${message.toString()}\n\n`)
})

t.test('non-ASCII bytes pass through untouched', async (t) => {
  const message = Buffer.from('{"type":"WorldCup","summary":"Gôl ⚽ 78.0"}')
  t.same(
    frameUpdate(message),
    Buffer.concat([Buffer.from('event: update\ndata: '), message, Buffer.from('\n\n')]),
  )
})

t.test('every line break starts a new data line', async (t) => {
  t.equal(
    frameUpdate(Buffer.from('{"type": "A",\n "v": 1}')).toString(),
    'event: update\ndata: {"type": "A",\ndata:  "v": 1}\n\n',
  )
  t.equal(
    frameUpdate(Buffer.from('{\r\n"type":"A"\r"v":1\n}')).toString(),
    'event: update\ndata: {\ndata: "type":"A"\ndata: "v":1\ndata: }\n\n',
  )
  t.equal(
    frameUpdate(Buffer.from('{"type":"A"}\n')).toString(),
    'event: update\ndata: {"type":"A"}\ndata: \n\n',
  )
})

t.test('the heartbeat is a comment', async (t) => {
  t.equal(HEARTBEAT.toString(), ': keep-alive\n\n')
})
