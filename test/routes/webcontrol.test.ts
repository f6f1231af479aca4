import t from 'tap'
import { baseUrl, build, ORIGIN } from '../helpers/build.js'
import { fixture } from '../helpers/fixtures.js'
import { RedisServer } from '../helpers/redis-server.js'
import { openEvents, updateEvent } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

const redis = await RedisServer.start()
t.teardown(() => redis.stop())

t.test('each configured command is queued with 202 and reaches every client', async (t) => {
  const app = await build(t, redis, {}, { listen: true })
  const url = baseUrl(app)
  const clients = [await openEvents(url), await openEvents(url)]
  t.teardown(() => {
    for (const c of clients) c.close()
  })
  await waitFor(() => app.hub.size === 2, 'two clients')
  let expected = ''
  for (const command of ['pp', 'fwd', 'rew', 'out', 'reload']) {
    const res = await app.inject({ method: 'PUT', url: `/webcontrol/${command}` })
    t.equal(res.statusCode, 202, command)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8', command)
    t.equal(res.body, '{"status":"Command queued"}', command)
    expected += updateEvent(`{"type":"webcontrol","command":"${command}"}`)
  }
  // The newer generation's fixture is exactly what the API emits.
  t.equal(updateEvent(fixture('v2/webcontrol-pp.json')), updateEvent('{"type":"webcontrol","command":"pp"}'))
  for (const client of clients) {
    await client.waitFor((text) => text.length >= expected.length, 'all commands')
    t.equal(client.events(), expected)
  }
})

t.test('202 even when no client is connected', async (t) => {
  const app = await build(t, redis)
  t.equal(app.hub.size, 0)
  const res = await app.inject({ method: 'PUT', url: '/webcontrol/pp' })
  t.equal(res.statusCode, 202)
  t.equal(res.body, '{"status":"Command queued"}')
})

t.test('any request body is ignored', async (t) => {
  const app = await build(t, redis)
  const bodies: [string | undefined, string][] = [
    ['application/json', '{"broken'],
    ['application/json', '{"command":"out"}'],
    ['text/plain', 'hello'],
    ['application/x-www-form-urlencoded', 'a=b'],
    ['application/octet-stream', 'x'.repeat(2 * 1024 * 1024)],
    [undefined, 'no content type'],
  ]
  for (const [type, payload] of bodies) {
    const res = await app.inject({
      method: 'PUT',
      url: '/webcontrol/fwd',
      payload,
      headers: type === undefined ? {} : { 'content-type': type },
    })
    t.equal(res.statusCode, 202, `${type}`)
    t.equal(res.body, '{"status":"Command queued"}', `${type}`)
  }
})

t.test('an unknown command is 400 and nothing is broadcast', async (t) => {
  const app = await build(t, redis, {}, { listen: true })
  const client = await openEvents(baseUrl(app))
  t.teardown(() => client.close())
  await waitFor(() => app.hub.size === 1, 'client')
  for (const command of ['PP', 'play', 'pp%20', 'reload2', '%F0%9F%98%80']) {
    const res = await app.inject({
      method: 'PUT',
      url: `/webcontrol/${command}`,
      headers: { origin: ORIGIN },
    })
    t.equal(res.statusCode, 400, command)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8', command)
    t.equal(res.headers['access-control-allow-origin'], ORIGIN, command)
    t.equal(res.body, '{"error":"Invalid command"}', command)
  }
  // A valid command after them is the first and only event.
  await app.inject({ method: 'PUT', url: '/webcontrol/out' })
  await client.waitFor((text) => text.includes('out'), 'the valid command')
  t.equal(client.events(), updateEvent('{"type":"webcontrol","command":"out"}'))
})

t.test('the command list is configurable', async (t) => {
  const app = await build(t, redis, { webcontrolCommands: ['next', 'prev'] })
  t.equal((await app.inject({ method: 'PUT', url: '/webcontrol/next' })).statusCode, 202)
  const res = await app.inject({ method: 'PUT', url: '/webcontrol/pp' })
  t.equal(res.statusCode, 400)
  t.equal(res.body, '{"error":"Invalid command"}')
})
