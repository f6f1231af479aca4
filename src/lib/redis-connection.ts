/** How every Redis connection of the service is made: one place for URL, timeouts and retry policy. */
import { Redis, type RedisOptions } from 'ioredis'
import type { Config } from '../config.js'

export type ConnectionRole = 'command' | 'subscriber'

/**
 * Reconnect forever with a capped backoff: Redis restarts are routine and the service must
 * heal on its own. ioredis calls this after each failed attempt.
 */
export function retryDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 6), 2000)
}

export function createRedis(config: Config, role: ConnectionRole): Redis {
  const options: RedisOptions = {
    connectionName: `live-state-api:${role}`,
    retryStrategy: retryDelay,
    connectTimeout: 2000,
    // Fail fast instead of queueing: while Redis is down a request gets its 503 at once,
    // and nothing piles up in memory.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
  }
  if (role === 'command') {
    // A frozen Redis keeps the socket open but never answers: bound every command.
    options.commandTimeout = config.redisCommandTimeoutMs
    options.enableAutoPipelining = true
  } else {
    // The hub subscribes itself on every 'ready' (exactly once per connection); ioredis'
    // own re-subscribe would race with it.
    options.autoResubscribe = false
    options.autoResendUnfulfilledCommands = false
  }
  return new Redis(config.redisUrl, options)
}
