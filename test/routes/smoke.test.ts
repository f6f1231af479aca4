import t from 'tap'
import { build } from '../helpers/build.js'
import { RedisServer } from '../helpers/redis-server.js'

t.test('smoke', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const app = await build(t, redis)
  const res = await app.inject({ method: 'GET', url: '/key/nothing' })
  t.equal(res.statusCode, 200)
  t.equal(res.body, '{}')
})
