import t from 'tap'
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
import { SentinelSet, withClient } from '../helpers/redis-topology.js'
import { openEvents } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

const sentinels = await SentinelSet.start()
t.teardown(() => sentinels.stop())
// The service runs as the README's minimal ACL user, created on both data nodes (ACL
// users are not replicated). Every test's channel is `update-<uuid>`; no key prefix.
const PASSWORD = 'sentinel-data-pw-8Xw'
for (const server of sentinels.servers) await createServiceUser(server, minimalAcl(PASSWORD, '', 'update-*'))
const SERVICE_URL = `redis://${SERVICE_USER}:${PASSWORD}@127.0.0.1:6379/0`

function sentinelConfig(): Partial<Config> {
  return {
    redisCommandTimeoutMs: 500,
    redisDeployment: {
      ...REDIS_DEPLOYMENT_DEFAULTS,
      mode: 'sentinel',
      sentinels: sentinels.addresses,
      sentinelMaster: sentinels.masterName,
      healthCheckMs: 200,
    },
  }
}

/** The names of the service's connections on `server`, sorted. */
async function serviceConnections(server: RedisServer): Promise<string[]> {
  const list = await withClient(server, (c) => c.client('LIST') as Promise<string>)
  return [...list.matchAll(/name=(live-state-api:\S+)/g)].map((m) => m[1] as string).sort()
}

t.test('reads and the subscription follow SENTINEL FAILOVER to the new primary', async (t) => {
  const first = sentinels.server(await sentinels.primaryPort())
  await withClient(first, (c) => c.set('Weather', '{"values":{"temp":61.5}}'))
  // The replica must have it before it can be promoted with it.
  await withClient(first, (c) => c.call('WAIT', '1', '2000'))

  const app = await build(t, { url: SERVICE_URL }, sentinelConfig(), { listen: true })
  const channel = app.config.updateChannel
  t.equal((await app.inject('/key/Weather')).body, '{"values":{"temp":61.5}}')
  t.equal((await app.inject('/ready')).statusCode, 200)
  t.same(await serviceConnections(first), ['live-state-api:command', 'live-state-api:subscriber'])

  const clients = [await openEvents(baseUrl(app)), await openEvents(baseUrl(app))]
  t.teardown(() => {
    for (const c of clients) c.close()
  })
  await waitFor(() => app.hub.size === 2, 'clients')
  const before = first.client()
  t.teardown(() => before.disconnect())
  await publishAndCheck(t, [before], channel, clients, 'before-failover')

  const probes = startProbes(t, baseUrl(app), ['/key/Weather', '/ready'])
  const { from, to } = await sentinels.failover()
  t.equal(from, first)
  await waitFor(
    async () => (await serviceConnections(to)).length === 2 && app.hub.subscriberReady,
    'both connections on the new primary',
    { timeoutMs: 15000 },
  )
  await waitFor(async () => (await app.inject('/ready')).statusCode === 200, 'ready again', {
    timeoutMs: 10000,
  })
  checkAnswers(t, await probes.stop(), 'through the failover')

  t.same(await serviceConnections(to), ['live-state-api:command', 'live-state-api:subscriber'])
  t.same(await serviceConnections(from), [], 'nothing left on the old primary')
  t.equal(await numsub(sentinels.servers, channel), 1, 'one subscription on the two servers')
  // A value written on the new primary only after the failover is what the service reads.
  await withClient(to, (c) => c.set('Weather', '{"values":{"temp":62.5}}'))
  t.equal((await app.inject('/key/Weather')).body, '{"values":{"temp":62.5}}')

  const after = to.client()
  t.teardown(() => after.disconnect())
  await publishAndCheck(t, [after], channel, clients, 'after-failover')
  checkConnected(t, clients, app.hub.size)
  for (const server of sentinels.servers)
    t.same(await aclRefusals(server), [], `the ACL of ${server.port} refused nothing`)
})
