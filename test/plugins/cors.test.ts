import t from 'tap'
import { build, ORIGIN } from '../helpers/build.js'
import { RedisServer } from '../helpers/redis-server.js'

const redis = await RedisServer.start()
t.teardown(() => redis.stop())

const requests = [
  { method: 'GET', url: '/key/anything', status: 200 },
  { method: 'GET', url: '/key/Environment', status: 200 },
  { method: 'PUT', url: '/webcontrol/pp', status: 202 },
  { method: 'PUT', url: '/webcontrol/nope', status: 400 },
  { method: 'GET', url: '/live', status: 200 },
  { method: 'GET', url: '/ready', status: 200 },
  { method: 'GET', url: '/no/such/path', status: 404 },
  { method: 'POST', url: '/key/x', status: 405 },
] as const

t.test('an allowed origin gets the CORS headers on every response, errors included', async (t) => {
  const app = await build(t, redis)
  for (const { method, url, status } of requests) {
    const res = await app.inject({ method, url, headers: { origin: ORIGIN } })
    t.equal(res.statusCode, status, `${method} ${url}`)
    t.equal(res.headers['access-control-allow-origin'], ORIGIN, `${method} ${url}`)
    t.equal(res.headers['access-control-allow-credentials'], 'true', `${method} ${url}`)
    t.equal(res.headers.vary, 'Origin', `${method} ${url}`)
  }
})

t.test('another origin gets no Access-Control-Allow-Origin', async (t) => {
  const app = await build(t, redis)
  for (const { method, url, status } of requests) {
    const res = await app.inject({ method, url, headers: { origin: 'http://evil.example' } })
    t.equal(res.statusCode, status, `${method} ${url}`)
    t.equal(res.headers['access-control-allow-origin'], undefined, `${method} ${url}`)
    t.equal(res.headers['access-control-allow-credentials'], undefined, `${method} ${url}`)
  }
})

t.test('no Origin, no CORS headers', async (t) => {
  const app = await build(t, redis)
  for (const { method, url } of requests) {
    const res = await app.inject({ method, url })
    const cors = Object.keys(res.headers).filter((name) => name.startsWith('access-control-'))
    t.same(cors, [], `${method} ${url}`)
  }
})

t.test('origins come from configuration', async (t) => {
  const app = await build(t, redis, { corsOrigins: ['https://dash.example', 'http://localhost:5173'] })
  for (const origin of ['https://dash.example', 'http://localhost:5173']) {
    const res = await app.inject({ url: '/live', headers: { origin } })
    t.equal(res.headers['access-control-allow-origin'], origin)
  }
  const old = await app.inject({ url: '/live', headers: { origin: ORIGIN } })
  t.equal(old.headers['access-control-allow-origin'], undefined)
})

t.test('a preflight for PUT from an allowed origin is answered', async (t) => {
  const app = await build(t, redis)
  const res = await app.inject({
    method: 'OPTIONS',
    url: '/webcontrol/pp',
    headers: {
      origin: ORIGIN,
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'content-type',
    },
  })
  t.equal(res.statusCode, 204)
  t.equal(res.headers['access-control-allow-origin'], ORIGIN)
  t.equal(res.headers['access-control-allow-credentials'], 'true')
  t.equal(res.headers['access-control-allow-methods'], 'GET, HEAD, PUT, OPTIONS')
  t.equal(res.headers['access-control-allow-headers'], 'content-type')
  t.equal(res.headers['access-control-max-age'], '600')
})
