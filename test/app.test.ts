import t from 'tap'
import { build } from './helpers/build.js'
import { RedisServer } from './helpers/redis-server.js'

const redis = await RedisServer.start()
t.teardown(() => redis.stop())

t.test('an unknown path is a JSON 404', async (t) => {
  const app = await build(t, redis)
  for (const url of ['/', '/nope', '/key', '/keys/Weather', '/events/x', '/webcontrol']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 404, url)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8', url)
    t.equal(res.body, '{"error":"Not Found"}', url)
  }
})

t.test('a wrong method is a JSON 405 with Allow', async (t) => {
  const app = await build(t, redis)
  const cases = [
    { method: 'POST', url: '/key/Weather', allow: 'GET, HEAD' },
    { method: 'DELETE', url: '/key/Environment', allow: 'GET, HEAD' },
    { method: 'POST', url: '/events', allow: 'GET' },
    { method: 'GET', url: '/webcontrol/pp', allow: 'PUT' },
    { method: 'POST', url: '/webcontrol/pp', allow: 'PUT' },
    { method: 'PUT', url: '/live', allow: 'GET, HEAD' },
    { method: 'PATCH', url: '/ready?x=1', allow: 'GET, HEAD' },
  ] as const
  for (const { method, url, allow } of cases) {
    const res = await app.inject({ method, url })
    t.equal(res.statusCode, 405, `${method} ${url}`)
    t.equal(res.headers.allow, allow, `${method} ${url}`)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8', `${method} ${url}`)
    t.equal(res.body, '{"error":"Method Not Allowed"}', `${method} ${url}`)
  }
})
