/**
 * The fault matrix on a standalone Redis: each case checks the same things (answers within
 * 2 s, 503 while Redis cannot serve and 200 once it can, /ready, exactly one subscription,
 * each later message once on every client, clients connected throughout).
 */
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { Config } from '../../src/config.js'
import { REDIS_DEPLOYMENT_DEFAULTS } from '../../src/config.js'
import { baseUrl, build } from '../helpers/build.js'
import {
  checkAnswers,
  checkConnected,
  numsub,
  publishAndCheck,
  startProbes,
} from '../helpers/fault-checks.js'
import { RedisServer } from '../helpers/redis-server.js'
import { withClient } from '../helpers/redis-topology.js'
import { openEvents, type SseClient } from '../helpers/sse-client.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'
import { waitFor } from '../helpers/wait.js'

/** Short timeouts, so "longer than every timeout" stays a few seconds. */
const FAST: Partial<Config> = {
  redisCommandTimeoutMs: 300,
  heartbeatMs: 200,
  redisDeployment: { ...REDIS_DEPLOYMENT_DEFAULTS, healthCheckMs: 200 },
}
// The longest wait in the service: connectTimeout and the retry cap, 2 s each.
const LONGER_THAN_EVERY_TIMEOUT_MS = 3000

/** id, name and local port (as Redis sees the peer) of the service's connections. */
async function serviceClients(redis: RedisServer): Promise<{ id: string; name: string; port: number }[]> {
  const list = await withClient(redis, (c) => c.client('LIST') as Promise<string>)
  return list
    .split('\n')
    .map((line) => /^id=(\d+) addr=[^ ]+:(\d+) .*name=(live-state-api:\S+)/.exec(line))
    .filter((m) => m !== null)
    .map((m) => ({ id: m[1] as string, port: Number(m[2]), name: m[3] as string }))
    .sort((a, b) => a.name.localeCompare(b.name))
}

async function names(redis: RedisServer): Promise<string[]> {
  return (await serviceClients(redis)).map((c) => c.name)
}

async function openClients(t: Test, app: FastifyInstance, count = 2): Promise<SseClient[]> {
  const clients: SseClient[] = []
  for (let i = 0; i < count; i++) clients.push(await openEvents(baseUrl(app)))
  t.teardown(() => {
    for (const c of clients) c.close()
  })
  await waitFor(() => app.hub.size === count, 'clients')
  return clients
}

/** What every case checks once Redis serves again. */
async function checkRecovered(
  t: Test,
  app: FastifyInstance,
  redis: RedisServer,
  clients: SseClient[],
  tag: string,
) {
  await waitFor(async () => (await app.inject('/ready')).statusCode === 200, `${tag}: ready`, {
    timeoutMs: 10000,
  })
  const res = await app.inject('/key/Weather')
  t.equal(res.statusCode, 200, `${tag}: /key answers 200`)
  t.equal(res.body, '{"values":{"temp":61.5}}', `${tag}: with the value`)
  await waitFor(
    async () => (await names(redis)).join() === 'live-state-api:command,live-state-api:subscriber',
    `${tag}: one connection of each kind`,
  )
  t.equal(await numsub([redis], app.config.updateChannel), 1, `${tag}: exactly one subscription`)
  const publisher = redis.client()
  t.teardown(() => publisher.disconnect())
  await publishAndCheck(t, [publisher], app.config.updateChannel, clients, tag)
  checkConnected(t, clients, app.hub.size)
}

async function startRedis(t: Test): Promise<RedisServer> {
  const redis = await RedisServer.start()
  t.teardown(async () => {
    redis.resume()
    await redis.stop()
  })
  await withClient(redis, (c) => c.set('Weather', '{"values":{"temp":61.5}}'))
  return redis
}

t.test('Redis restarted three times in a row', async (t) => {
  const redis = await startRedis(t)
  const app = await build(t, redis, FAST, { listen: true })
  const clients = await openClients(t, app)
  const probes = startProbes(t, baseUrl(app), ['/key/Weather', '/ready'])
  for (let round = 1; round <= 3; round++) {
    await redis.stop()
    await waitFor(async () => (await app.inject('/ready')).statusCode === 503, `round ${round}: not ready`)
    const res = await app.inject('/key/Weather')
    t.equal(res.statusCode, 503, `round ${round}: /key is 503 while Redis is down`)
    await redis.launch()
    await withClient(redis, (c) => c.set('Weather', '{"values":{"temp":61.5}}'))
    await waitFor(async () => (await app.inject('/ready')).statusCode === 200, `round ${round}: ready`, {
      timeoutMs: 10000,
    })
  }
  checkAnswers(t, await probes.stop(), 'three restarts')
  await checkRecovered(t, app, redis, clients, 'after-restarts')
})

t.test('the subscriber connection killed, then the command connection killed', async (t) => {
  const redis = await startRedis(t)
  const app = await build(t, redis, FAST, { listen: true })
  const clients = await openClients(t, app)
  const probes = startProbes(t, baseUrl(app), ['/key/Weather', '/ready'])

  for (const name of ['live-state-api:subscriber', 'live-state-api:command']) {
    const victim = (await serviceClients(redis)).find((c) => c.name === name)
    t.ok(victim, `${name} found`)
    t.equal(
      await withClient(redis, (c) => c.call('CLIENT', 'KILL', 'ID', victim?.id ?? '')),
      1,
      `${name} killed`,
    )
    await waitFor(
      async () => (await serviceClients(redis)).some((c) => c.name === name && c.id !== victim?.id),
      `${name} to reconnect`,
    )
    await checkRecovered(t, app, redis, clients, `after-killing-${name.split(':')[1]}`)
  }
  checkAnswers(t, await probes.stop(), 'connections killed')
})

t.test('Redis frozen longer than every timeout, then resumed', async (t) => {
  const redis = await startRedis(t)
  const app = await build(t, redis, FAST, { listen: true })
  const clients = await openClients(t, app)
  const probes = startProbes(t, baseUrl(app), ['/key/Weather', '/ready'])
  const heartbeats = clients.map((c) => c.bytes().length)

  redis.freeze()
  const frozenAt = Date.now()
  await waitFor(async () => (await app.inject('/ready')).statusCode === 503, 'not ready while frozen')
  const started = Date.now()
  const res = await app.inject('/key/Weather')
  t.equal(res.statusCode, 503, '/key is 503 while frozen')
  t.equal(res.body, '{"error":"Redis unavailable"}')
  t.ok(Date.now() - started <= 2000, 'within 2 s')
  // The stream lives on without Redis: heartbeats keep flowing.
  for (const [i, client] of clients.entries()) {
    await waitFor(() => client.bytes().length > (heartbeats[i] as number), `heartbeats on client ${i}`)
  }
  await waitFor(
    () => Date.now() - frozenAt > LONGER_THAN_EVERY_TIMEOUT_MS,
    'the freeze to outlast every timeout',
    {
      timeoutMs: LONGER_THAN_EVERY_TIMEOUT_MS + 1000,
      intervalMs: 50,
    },
  )
  t.equal((await app.inject('/ready')).statusCode, 503, 'still not ready at the end of the freeze')
  redis.resume()

  await checkRecovered(t, app, redis, clients, 'after-freeze')
  const answers = await probes.stop()
  checkAnswers(t, answers, 'frozen')
  t.ok(
    answers.some((a) => a.path === '/ready' && a.status === 503),
    'the probes saw /ready 503 during the freeze',
  )
})

t.test('a subscriber connection that goes silent (half-open) is found and replaced', async (t) => {
  const redis = await startRedis(t)
  const proxy = await TcpProxy.start(redis.port)
  t.teardown(() => proxy.close())
  const app = await build(t, { url: `redis://127.0.0.1:${proxy.port}/0` }, FAST, { listen: true })
  const clients = await openClients(t, app)
  const probes = startProbes(t, baseUrl(app), ['/key/Weather', '/ready'])

  const subscriber = (await serviceClients(redis)).find((c) => c.name === 'live-state-api:subscriber')
  t.ok(proxy.silence(subscriber?.port ?? 0), 'the path of the subscriber connection is cut')
  // Redis dropped it; the service's socket is still open and would wait forever.
  await waitFor(async () => (await numsub([redis], app.config.updateChannel)) === 0, 'Redis to drop it')
  await waitFor(
    async () => (await app.inject('/ready')).statusCode === 503,
    'not ready once the PING goes unanswered',
  )
  t.equal((await app.inject('/key/Weather')).statusCode, 200, 'reads still work meanwhile')

  await checkRecovered(t, app, redis, clients, 'after-half-open')
  checkAnswers(t, await probes.stop(), 'half-open')
})

t.test('Redis unreachable when the service starts, then appears', async (t) => {
  const redis = await RedisServer.start()
  await redis.stop()
  t.teardown(() => redis.stop())
  const app = await build(t, redis, FAST, { listen: true, waitReady: false })
  const clients = await openClients(t, app)
  t.equal((await app.inject('/live')).statusCode, 200)
  t.equal((await app.inject('/ready')).statusCode, 503)
  const started = Date.now()
  t.equal((await app.inject('/key/Weather')).statusCode, 503)
  t.ok(Date.now() - started <= 2000, '503 within 2 s')
  const probes = startProbes(t, baseUrl(app), ['/key/Weather', '/ready'])
  await redis.launch()
  await withClient(redis, (c) => c.set('Weather', '{"values":{"temp":61.5}}'))
  await checkRecovered(t, app, redis, clients, 'after-late-start')
  checkAnswers(t, await probes.stop(), 'late start')
})
