import t from 'tap'
import { frameUpdate, HEARTBEAT } from '../../src/lib/sse.js'
import { fixture } from '../helpers/fixtures.js'

t.test('a one-line message is one data line with the exact bytes', async (t) => {
  const message = fixture('Weather.json')
  t.equal(frameUpdate('e1-7', message).toString(), `event: update\nid: e1-7\ndata: ${message.toString()}\n\n`)
})

t.test('non-ASCII bytes pass through untouched', async (t) => {
  const message = Buffer.from('{"type":"WorldCup","summary":"Gôl ⚽ 78.0"}')
  t.same(
    frameUpdate('e1-1', message),
    Buffer.concat([Buffer.from('event: update\nid: e1-1\ndata: '), message, Buffer.from('\n\n')]),
  )
})

t.test('every line break starts a new data line', async (t) => {
  t.equal(
    frameUpdate('x-2', Buffer.from('{"type": "A",\n "v": 1}')).toString(),
    'event: update\nid: x-2\ndata: {"type": "A",\ndata:  "v": 1}\n\n',
  )
  t.equal(
    frameUpdate('x-2', Buffer.from('{\r\n"type":"A"\r"v":1\n}')).toString(),
    'event: update\nid: x-2\ndata: {\ndata: "type":"A"\ndata: "v":1\ndata: }\n\n',
  )
  t.equal(
    frameUpdate('x-2', Buffer.from('{"type":"A"}\n')).toString(),
    'event: update\nid: x-2\ndata: {"type":"A"}\ndata: \n\n',
  )
})

t.test('the heartbeat is a comment', async (t) => {
  t.equal(HEARTBEAT.toString(), ': keep-alive\n\n')
})
