import t from 'tap'
import { RedisServer } from './helpers/redis-server.js'
import { startServer, statusOf } from './helpers/server-process.js'
import { openEvents, updateEvent } from './helpers/sse-client.js'
import { waitFor } from './helpers/wait.js'

const command = (name: string) => `{"type":"webcontrol","command":"${name}"}`

t.test('two replicas on one Redis: a command reaches the clients of both exactly once', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const env = { REDIS_URL: redis.url, UPDATE_CHANNEL: 'replicas', LOG_LEVEL: 'warn' }
  const replicas = [await startServer(env), await startServer(env)]
  t.teardown(() => {
    for (const r of replicas) r.child.kill('SIGKILL')
  })
  for (const r of replicas) {
    await waitFor(async () => (await statusOf(`${r.url}/ready`)) === 200, 'ready', { timeoutMs: 20000 })
  }
  const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]]
  const clientA = await openEvents(a.url)
  const clientB = await openEvents(b.url)
  t.teardown(() => {
    clientA.close()
    clientB.close()
  })

  // A listener on the update channel, where the store updater would persist anything.
  const listener = redis.client()
  t.teardown(() => listener.disconnect())
  const onUpdateChannel: string[] = []
  listener.on('message', (_channel: string, message: string) => onUpdateChannel.push(message))
  await listener.subscribe('replicas')

  const put = await fetch(`${a.url}/webcontrol/pp`, { method: 'PUT' })
  t.equal(put.status, 202)
  t.equal(await put.text(), '{"status":"Command queued"}')
  const db = redis.client()
  t.teardown(() => db.disconnect())
  // An update after it: once it has arrived, a duplicate command would have too.
  await db.publish('replicas', '{"type":"After"}')
  for (const client of [clientA, clientB]) {
    await client.waitFor((text) => text.includes('After'), 'the update')
    t.equal(client.events(), updateEvent(command('pp')) + updateEvent('{"type":"After"}'))
  }
  // The command never went on the update channel.
  await waitFor(() => onUpdateChannel.length === 1, 'the update on the update channel')
  t.same(onUpdateChannel, ['{"type":"After"}'])
  listener.disconnect()

  // Redis down: each replica's own clients still get its commands, and the reply says so.
  await redis.stop()
  await waitFor(async () => (await statusOf(`${a.url}/ready`)) === 503, 'A to see the outage')
  const local = await fetch(`${a.url}/webcontrol/fwd`, { method: 'PUT' })
  t.equal(local.status, 202)
  t.equal(await local.text(), '{"status":"Command queued","delivery":"local"}')
  const localB = await fetch(`${b.url}/webcontrol/rew`, { method: 'PUT' })
  t.equal(localB.status, 202)
  await clientA.waitFor((text) => text.includes('fwd'), 'fwd on A')
  await clientB.waitFor((text) => text.includes('rew'), 'rew on B')
  t.equal(
    clientA.events(),
    updateEvent(command('pp')) + updateEvent('{"type":"After"}') + updateEvent(command('fwd')),
  )
  t.equal(
    clientB.events(),
    updateEvent(command('pp')) + updateEvent('{"type":"After"}') + updateEvent(command('rew')),
  )
  t.equal(clientA.ended, false)
  t.equal(clientB.ended, false)
})
