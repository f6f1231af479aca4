import type { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { type Config, REDIS_DEPLOYMENT_DEFAULTS } from '../../src/config.js'
import { aclRefusals, createServiceUser, minimalAcl, SERVICE_USER } from '../helpers/acl.js'
import { baseUrl, build } from '../helpers/build.js'
import {
  checkAnswers,
  checkConnected,
  numsub,
  publishAndCheck,
  startProbes,
} from '../helpers/fault-checks.js'
import type { RedisServer } from '../helpers/redis-server.js'
import { RedisCluster, withClient } from '../helpers/redis-topology.js'
import { openEvents } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

const cluster = await RedisCluster.start()
t.teardown(() => cluster.stop())

const ENVIRONMENT = ['AQI', 'Moon', 'Weather'] as const

/** A key prefix that puts the three Environment keys on three different nodes (and so slots). */
async function spreadingPrefix(): Promise<{ prefix: string; owners: Map<string, RedisServer> }> {
  for (let i = 0; i < 100; i++) {
    const prefix = `update${i}:`
    const owners = new Map<string, RedisServer>()
    for (const key of ENVIRONMENT) owners.set(key, await cluster.nodeOf(prefix + key))
    if (new Set(owners.values()).size === 3) return { prefix, owners }
  }
  throw new Error('no prefix spreads the keys')
}

const { prefix, owners } = await spreadingPrefix()
const values: Record<string, string> = {
  AQI: '{"values":{"aqi":42}}',
  Moon: '{"values":{"phase":"Waxing Gibbous"}}',
  Weather: '{"values":{"temp":78.5}}',
}
const publishers: Redis[] = cluster.nodes.map((n) => n.client())
t.teardown(() => {
  for (const p of publishers) p.disconnect()
})
for (const key of ENVIRONMENT) {
  await withClient(owners.get(key) as RedisServer, (c) => c.set(prefix + key, values[key] as string))
}
// The service runs as the README's minimal ACL user, with the Cluster additions; every
// test's channel is `update-<uuid>`.
const PASSWORD = 'cluster-pw-4Kd'
for (const node of cluster.nodes) {
  await createServiceUser(
    node,
    minimalAcl(PASSWORD, prefix, 'update-*', ['+cluster|slots', '+cluster|info']),
    true,
  )
}
const SERVICE_URL = `redis://${SERVICE_USER}:${PASSWORD}@127.0.0.1:6379/0`

async function checkNoRefusals(t: Test): Promise<void> {
  for (const node of cluster.nodes)
    t.same(await aclRefusals(node), [], `the ACL of ${node.port} refused nothing`)
}

function clusterConfig(): Partial<Config> {
  return {
    keyPrefix: prefix,
    redisCommandTimeoutMs: 500,
    redisDeployment: {
      ...REDIS_DEPLOYMENT_DEFAULTS,
      mode: 'cluster',
      clusterNodes: cluster.addresses,
      healthCheckMs: 200,
    },
  }
}

/** The node the service's subscriber connection is on. */
async function subscriberNode(): Promise<RedisServer[]> {
  const found: RedisServer[] = []
  for (const node of cluster.nodes) {
    if (node.pid === undefined) continue
    const list = await withClient(node, (c) => c.client('LIST') as Promise<string>)
    if (list.includes('name=live-state-api:subscriber')) found.push(node)
  }
  return found
}

t.test('keys in three slots, the aggregate, and messages published through every node', async (t) => {
  const app = await build(t, { url: SERVICE_URL }, clusterConfig(), { listen: true })
  for (const key of ENVIRONMENT) {
    const res = await app.inject(`/key/${key}`)
    t.equal(res.statusCode, 200, key)
    t.equal(res.body, values[key], key)
  }
  const env = await app.inject('/key/Environment')
  t.equal(env.statusCode, 200)
  t.equal(env.body, `{"AQI":${values.AQI},"Moon":${values.Moon},"Weather":${values.Weather}}`)
  t.equal((await app.inject('/key/Missing')).body, '{}')
  t.equal((await app.inject('/ready')).statusCode, 200)

  const clients = [await openEvents(baseUrl(app)), await openEvents(baseUrl(app))]
  t.teardown(() => {
    for (const c of clients) c.close()
  })
  await waitFor(() => app.hub.size === 2, 'clients')
  t.equal(await numsub(cluster.nodes, app.config.updateChannel), 1, 'one subscription in the whole cluster')
  await publishAndCheck(t, publishers, app.config.updateChannel, clients, 'through-every-node')
  checkConnected(t, clients, app.hub.size)
  await checkNoRefusals(t)
})

t.test('the node of the subscription and of one key restarted', async (t) => {
  const app = await build(t, { url: SERVICE_URL }, clusterConfig(), { listen: true })
  const channel = app.config.updateChannel
  const clients = [await openEvents(baseUrl(app)), await openEvents(baseUrl(app))]
  t.teardown(() => {
    for (const c of clients) c.close()
  })
  await waitFor(() => app.hub.size === 2, 'clients')
  const [victim] = await subscriberNode()
  if (victim === undefined) throw new Error('no subscriber connection found')
  const victimKey = ENVIRONMENT.find((k) => owners.get(k) === victim) as string

  const probes = startProbes(t, baseUrl(app), [`/key/${victimKey}`, '/key/Environment', '/ready'])
  await victim.stop()
  await waitFor(async () => (await app.inject(`/key/${victimKey}`)).statusCode === 503, 'reads to fail')
  await waitFor(async () => (await app.inject('/ready')).statusCode === 503, 'not ready')
  // The subscription moves to a node that is up, before the lost one is back.
  await waitFor(() => app.hub.subscriberReady, 'subscribed on another node', { timeoutMs: 10000 })
  t.not((await subscriberNode())[0], victim, 'the subscriber moved')

  await victim.launch()
  await waitFor(async () => (await app.inject('/ready')).statusCode === 200, 'ready again', {
    timeoutMs: 15000,
  })
  const answers = await probes.stop()
  checkAnswers(t, answers, 'through the restart')
  t.ok(
    answers.some((a) => a.path === '/ready' && a.status === 503),
    '/ready said 503 while a node was down',
  )
  const res = await app.inject(`/key/${victimKey}`)
  t.equal(res.statusCode, 200)
  t.equal(res.body, values[victimKey])
  t.equal((await subscriberNode()).length, 1, 'one subscriber connection')
  t.equal(await numsub(cluster.nodes, channel), 1, 'one subscription in the whole cluster')
  await publishAndCheck(t, publishers, channel, clients, 'after-node-restart')
  checkConnected(t, clients, app.hub.size)
  await checkNoRefusals(t)
})
