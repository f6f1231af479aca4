import t from 'tap'
import { build } from '../helpers/build.js'
import { RedisServer } from '../helpers/redis-server.js'

const redis = await RedisServer.start()
t.teardown(() => redis.stop())

t.test('/live and /ready when Redis is up', async (t) => {
  const app = await build(t, redis)
  const live = await app.inject('/live')
  t.equal(live.statusCode, 200)
  t.equal(live.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(live.body, '{"status":"alive"}')
  const ready = await app.inject('/ready')
  t.equal(ready.statusCode, 200)
  t.equal(ready.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(ready.body, '{"status":"ready"}')
})

t.test('/ready is 503 before the subscription is up', async (t) => {
  // A Redis that does not exist: nothing is ever ready, the process still serves.
  const gone = await RedisServer.start()
  await gone.stop()
  const app = await build(t, gone, {}, { waitReady: false })
  const ready = await app.inject('/ready')
  t.equal(ready.statusCode, 503)
  t.equal(ready.body, '{"status":"unavailable"}')
  const live = await app.inject('/live')
  t.equal(live.statusCode, 200)
  t.equal(live.body, '{"status":"alive"}')
})
