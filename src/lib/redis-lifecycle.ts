/** Logging and closing shared by both Redis connections, so an outage reads the same for each. */
import type { FastifyBaseLogger } from 'fastify'
import { Cluster, type Redis } from 'ioredis'

/**
 * Attaches the 'error' listener every ioredis connection needs (without one, an error is
 * printed and can crash the process), and logs each outage once rather than each retry.
 */
export function watchConnection(client: Redis | Cluster, log: FastifyBaseLogger): void {
  let down = false
  client.on('ready', () => {
    if (down) log.info('Redis connection restored')
    else log.debug('Redis connection ready')
    down = false
  })
  client.on('error', (err: Error) => {
    if (down) {
      log.debug({ err }, 'Redis still unavailable')
      return
    }
    down = true
    log.warn({ err }, 'Redis connection failed; retrying in the background')
  })
  client.on('end', () => log.debug('Redis connection closed'))
  if (client instanceof Cluster) {
    // A lost primary shows only as 'node error': the Cluster client itself stays 'ready'.
    // Each node is named at warn level once every 30 s at most, at debug in between.
    const warnedAt = new Map<string, number>()
    client.on('node error', (err: Error, node: string) => {
      if (Date.now() - (warnedAt.get(node) ?? 0) < 30000) {
        log.debug({ err, node }, 'Redis Cluster node still unavailable')
        return
      }
      warnedAt.set(node, Date.now())
      log.warn({ err, node }, 'Redis Cluster node failed; retrying in the background')
    })
  }
}

/** QUIT politely, but never let a frozen Redis hold up shutdown. */
export async function closeRedis(client: Redis | Cluster, timeoutMs = 1000): Promise<void> {
  if (client.status === 'end') return
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs)
  })
  try {
    if (client.status === 'ready') await Promise.race([client.quit().catch(() => {}), timeout])
  } finally {
    clearTimeout(timer)
    client.disconnect()
  }
}
