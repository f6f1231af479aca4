/** Whether the connections can do their job: the subscriber's periodic PING, and the command connection's probe for /ready. */
import { Cluster, type Redis } from 'ioredis'
import type { CommandConnection } from './redis-connection.js'

/**
 * A subscribed connection only reads, so a dead one (a half-open socket after a network
 * fault) would look 'ready' forever and the stream would go quiet. A PING every
 * `intervalMs` gives ioredis' socketTimeout something to wait for: with no reply in time
 * the socket is dropped, the hub sees 'close' (/ready turns 503) and, on the next 'ready',
 * subscribes once more on the new connection. PING is valid on a subscribed connection.
 */
export function startSubscriberHealthCheck(client: Redis, intervalMs: number): void {
  const timer = setInterval(() => {
    // While connecting, the handshake's own commands are bounded by the same socketTimeout.
    if (client.status === 'ready') client.ping().catch(() => {})
  }, intervalMs)
  timer.unref()
  client.once('end', () => clearInterval(timer))
}

/**
 * Why the command connection cannot serve reads now, or undefined when it can. Bounded by
 * the command timeout: a frozen Redis keeps its socket "ready", so it is asked.
 */
export async function commandConnectionProblem(client: CommandConnection): Promise<string | undefined> {
  if (client.status !== 'ready') return 'command connection down'
  if (client instanceof Cluster) return clusterProblem(client)
  try {
    await client.ping()
    return undefined
  } catch {
    return 'Redis not answering'
  }
}

/**
 * A Cluster client stays 'ready' while one primary is gone, but the keys of that primary's
 * slots cannot be read; and a primary that has just restarted answers PING but refuses
 * reads (CLUSTERDOWN) until it has heard from the others. So every primary that owns
 * slots is asked CLUSTER INFO, and must say cluster_state:ok.
 */
async function clusterProblem(cluster: Cluster): Promise<string | undefined> {
  const owners = new Set<string>()
  for (const nodeKeys of cluster.slots) {
    const owner = nodeKeys?.[0]
    if (owner !== undefined) owners.add(owner)
  }
  if (owners.size === 0) return 'no slot map yet'
  const primaries = new Map(
    cluster.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]),
  )
  const unknown = [...owners].filter((key) => !primaries.has(key))
  if (unknown.length > 0) {
    // A primary that went away left ioredis' pool; fetch the slot map again, which also
    // reconnects it once it is back.
    cluster.refreshSlotsCache()
    return `no connection to ${unknown.join(', ')}`
  }
  const notOk: string[] = []
  await Promise.all(
    [...owners].map(async (key) => {
      try {
        const info = String(await (primaries.get(key) as Redis).call('CLUSTER', 'INFO'))
        if (!/^cluster_state:ok\r?$/m.test(info)) notOk.push(key)
      } catch {
        notOk.push(key)
      }
    }),
  )
  return notOk.length > 0 ? `cluster not ok on ${notOk.sort().join(', ')}` : undefined
}
