import t from 'tap'
import { minimalAcl } from '../helpers/acl.js'
import { build, ORIGIN } from '../helpers/build.js'
import { fixture, messageFixtures, storedForm } from '../helpers/fixtures.js'
import { RedisServer } from '../helpers/redis-server.js'

const redis = await RedisServer.start()
t.teardown(() => redis.stop())
const db = redis.client()
t.teardown(() => db.disconnect())

t.test('GET /key/{key} re-serialises every stored fixture', async (t) => {
  const app = await build(t, redis)
  for (const name of messageFixtures()) {
    const { type, value } = storedForm(fixture(name))
    const key = `${name.replace('/', '-')}:${type}`
    await db.set(key, value)
    const res = await app.inject({ method: 'GET', url: `/key/${encodeURIComponent(key)}` })
    t.equal(res.statusCode, 200, name)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8', name)
    t.equal(res.body, JSON.stringify(JSON.parse(value)), name)
  }
})

t.test('any JSON type passes through', async (t) => {
  const app = await build(t, redis)
  const cases: [string, string][] = [
    ['{"a": 1}', '{"a":1}'],
    ['[1, 2, "x"]', '[1,2,"x"]'],
    ['42', '42'],
    ['78.5', '78.5'],
    ['null', 'null'],
    ['true', 'true'],
    ['"text"', '"text"'],
  ]
  for (const [stored, body] of cases) {
    await db.set('any-type', stored)
    const res = await app.inject({ method: 'GET', url: '/key/any-type' })
    t.equal(res.statusCode, 200, stored)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8', stored)
    t.equal(res.body, body, stored)
  }
})

t.test('every read sees the stored value as it is now, byte for byte', async (t) => {
  const app = await build(t, redis)
  // Same length each time: a body cached by key or by size would be served stale.
  for (const stored of ['{"t": "20°C"}', '{"t": "21°C"}', '{"t": "22°C"}', '{"t": "21°C"}']) {
    await db.set('changing', stored)
    const res = await app.inject({ method: 'GET', url: '/key/changing' })
    const body = JSON.stringify(JSON.parse(stored))
    t.equal(res.statusCode, 200, stored)
    t.equal(res.body, body, stored)
    // Bytes, not characters: ° is two bytes in UTF-8.
    t.equal(res.headers['content-length'], String(Buffer.byteLength(body)), stored)
  }
})

t.test('a missing key or an empty string is 200 {}', async (t) => {
  const app = await build(t, redis)
  await db.set('empty-string', '')
  for (const key of ['never-set', 'empty-string']) {
    const res = await app.inject({ method: 'GET', url: `/key/${key}` })
    t.equal(res.statusCode, 200, key)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8', key)
    t.equal(res.body, '{}', key)
  }
})

t.test('keys are case-sensitive and taken as given, - and : included', async (t) => {
  const app = await build(t, redis)
  await db.set('CaseKey', '{"v":"upper"}')
  await db.set('casekey', '{"v":"lower"}')
  await db.set('Weather-Server', '{"v":"dash"}')
  await db.set('a:b:c', '{"v":"colons"}')
  await db.set('with space', '{"v":"space"}')
  t.equal((await app.inject('/key/CaseKey')).body, '{"v":"upper"}')
  t.equal((await app.inject('/key/casekey')).body, '{"v":"lower"}')
  t.equal((await app.inject('/key/CASEKEY')).body, '{}')
  t.equal((await app.inject('/key/Weather-Server')).body, '{"v":"dash"}')
  t.equal((await app.inject('/key/a:b:c')).body, '{"v":"colons"}')
  t.equal((await app.inject('/key/with%20space')).body, '{"v":"space"}')
})

t.test('a long key is still a key', async (t) => {
  const app = await build(t, redis)
  const key = `long-${'k'.repeat(500)}`
  await db.set(key, '{"long":true}')
  const res = await app.inject(`/key/${key}`)
  t.equal(res.statusCode, 200)
  t.equal(res.body, '{"long":true}')
})

t.test('GET /key/Environment aggregates AQI, Moon and Weather', async (t) => {
  const prefix = 'env1:'
  const app = await build(t, redis, { keyPrefix: prefix })
  const stored: Record<string, string> = {}
  for (const type of ['AQI', 'Moon', 'Weather']) {
    stored[type] = storedForm(fixture(`${type}.json`)).value
    await db.set(prefix + type, stored[type] as string)
  }
  await db.set(`${prefix}Environment`, '{"shadowed":true}')
  const res = await app.inject('/key/Environment')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(
    res.body,
    `{"AQI":${JSON.stringify(JSON.parse(stored.AQI as string))},"Moon":${JSON.stringify(JSON.parse(stored.Moon as string))},"Weather":${JSON.stringify(JSON.parse(stored.Weather as string))}}`,
  )
})

t.test('GET /key/Environment: a missing member is {}', async (t) => {
  const prefix = 'env2:'
  const app = await build(t, redis, { keyPrefix: prefix })
  await db.set(`${prefix}Moon`, '{"phase":50}')
  const res = await app.inject('/key/Environment')
  t.equal(res.statusCode, 200)
  t.equal(res.body, '{"AQI":{},"Moon":{"phase":50},"Weather":{}}')
})

t.test(
  'GET /key/Environment: members of other Redis types, empty and invalid ones, as /key/{key} gives them',
  async (t) => {
    const prefix = 'env3:'
    const app = await build(t, redis, { keyPrefix: prefix })
    await db.hset(`${prefix}AQI`, 'aqi', '42')
    await db.set(`${prefix}Moon`, '')
    await db.set(`${prefix}Weather`, '{"t": 20}')
    const res = await app.inject('/key/Environment')
    t.equal(res.statusCode, 200)
    t.equal(res.body, '{"AQI":{"aqi":"42"},"Moon":{},"Weather":{"t":20}}')
    await db.set(`${prefix}Moon`, 'not json')
    const bad = await app.inject('/key/Environment')
    t.equal(bad.statusCode, 502)
    t.same(JSON.parse(bad.body), JSON.parse((await app.inject('/key/Moon')).body))
  },
)

t.test(
  'GET /key/Environment with an ACL user that may not MGET: the same body, from three GETs',
  async (t) => {
    const prefix = 'env4:'
    const rules = minimalAcl('no-mget-pw', prefix, 'env4-updates', [], 'env4-control').filter(
      (rule) => rule !== '+mget',
    )
    await db.call('ACL', 'SETUSER', 'no-mget', ...rules)
    t.teardown(() => db.call('ACL', 'DELUSER', 'no-mget'))
    await db.call('ACL', 'LOG', 'RESET')
    await db.set(`${prefix}AQI`, '{"aqi": 42}')
    await db.set(`${prefix}Weather`, '{"t": 20}')
    const url = new URL(redis.url)
    url.username = 'no-mget'
    url.password = 'no-mget-pw'
    const app = await build(
      t,
      { url: url.toString() },
      { keyPrefix: prefix, updateChannel: 'env4-updates', controlChannel: 'env4-control' },
    )
    for (let i = 0; i < 3; i++) {
      const res = await app.inject('/key/Environment')
      t.equal(res.statusCode, 200)
      t.equal(res.body, '{"AQI":{"aqi":42},"Moon":{},"Weather":{"t":20}}')
    }
    // Refused once, then never asked again.
    const refusals = (await db.call('ACL', 'LOG')) as unknown[][]
    t.equal(refusals.length, 1)
    t.match(JSON.stringify(refusals[0]), /"object","mget"/)
  },
)

t.test('with prefix update:, /key/Weather reads update:Weather', async (t) => {
  const app = await build(t, redis, { keyPrefix: 'update:' })
  await db.set('update:Weather', '{"from":"prefixed"}')
  await db.set('Weather', '{"from":"bare"}')
  t.equal((await app.inject('/key/Weather')).body, '{"from":"prefixed"}')
  const bare = await build(t, redis)
  t.equal((await bare.inject('/key/Weather')).body, '{"from":"bare"}')
})

t.test('a stored value that is not JSON is 502 naming the key', async (t) => {
  const app = await build(t, redis, { keyPrefix: 'p502:' })
  await db.set('p502:Broken', 'Weather')
  const res = await app.inject({ url: '/key/Broken', headers: { origin: ORIGIN } })
  t.equal(res.statusCode, 502)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(res.headers['access-control-allow-origin'], ORIGIN)
  t.equal(res.body, '{"error":"Stored value is not JSON","key":"Broken"}')
  await db.set('p502:AQI', '{not json')
  const env = await app.inject('/key/Environment')
  t.equal(env.statusCode, 502)
  t.equal(env.body, '{"error":"Stored value is not JSON","key":"AQI"}')
})

t.test('keys of other Redis types render as JSON', async (t) => {
  const app = await build(t, redis)
  await db.del('h', 'l', 's', 'z', 'st')
  await db.hset('h', { a: '1', b: 'two' })
  await db.rpush('l', 'x', 'y', 'x')
  await db.sadd('s', 'b', 'a', 'c')
  await db.zadd('z', 2, 'two', 1.5, 'one-and-a-half')
  await db.xadd('st', '*', 'f', 'v')
  const expect: [string, number, string][] = [
    ['h', 200, '{"a":"1","b":"two"}'],
    ['l', 200, '["x","y","x"]'],
    ['s', 200, '["a","b","c"]'],
    ['z', 200, '[{"member":"one-and-a-half","score":1.5},{"member":"two","score":2}]'],
    ['st', 502, '{"error":"Stored value is a Redis stream, which has no JSON form","key":"st"}'],
  ]
  for (const [key, status, body] of expect) {
    const res = await app.inject(`/key/${key}`)
    t.equal(res.statusCode, status, key)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8', key)
    t.equal(res.body, body, key)
  }
})

t.test('/key/ with no key is a 400 JSON error', async (t) => {
  const app = await build(t, redis)
  const res = await app.inject('/key/')
  t.equal(res.statusCode, 400)
  t.equal(res.body, '{"error":"params/key must NOT have fewer than 1 characters"}')
})
