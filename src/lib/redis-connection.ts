/**
 * How every Redis connection of the service is made, in each deployment mode (standalone,
 * Sentinel, Cluster): addresses, TLS, credentials, timeouts and retry policy in one place.
 */
import type { ConnectionOptions } from 'node:tls'
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'
import type { Config } from '../config.js'
import { startSubscriberHealthCheck } from './redis-health.js'
import { rotatingConnector } from './redis-node-connector.js'

export type ConnectionRole = 'command' | 'subscriber'

/** The command connection: one Redis (standalone or found through Sentinel), or a Cluster client. */
export type CommandConnection = Redis | Cluster

/**
 * Reconnect forever with a capped backoff: Redis restarts are routine and the service must
 * heal on its own. ioredis calls this after each failed attempt.
 */
export function retryDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 6), 2000)
}

/** What REDIS_URL (with USER_PASS, REDIS_PASSWORD…) and the TLS files say, in every mode. */
export interface ConnectionSettings {
  host: string
  port: number
  username: string | undefined
  password: string | undefined
  db: number
  /** Set when REDIS_URL is rediss://: the CA, client certificate and key from configuration. */
  tls: ConnectionOptions | undefined
}

export function connectionSettings(config: Config): ConnectionSettings {
  const url = new URL(config.redisUrl)
  const { tlsCa, tlsCert, tlsKey } = config.redisDeployment
  let tls: ConnectionOptions | undefined
  if (url.protocol === 'rediss:') {
    // Without a CA file, the system's trusted CAs verify the server (never turned off).
    tls = {}
    if (tlsCa !== undefined) tls.ca = tlsCa
    if (tlsCert !== undefined) tls.cert = tlsCert
    if (tlsKey !== undefined) tls.key = tlsKey
  }
  return {
    // URL keeps the brackets of an IPv6 address; sockets want it bare.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 6379 : Number(url.port),
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    tls,
  }
}

/** Options every connection to a data node shares, whatever the mode and role. */
function nodeOptions(config: Config, role: ConnectionRole, settings: ConnectionSettings): RedisOptions {
  const options: RedisOptions = {
    connectionName: `live-state-api:${role}`,
    connectTimeout: 2000,
    // A socket that gets no reply for this long while one is due is dead (a frozen Redis,
    // a half-open connection after a network fault): drop it and reconnect. Without it a
    // lost primary that sends no RST would keep the connection "ready" forever.
    socketTimeout: 2 * config.redisCommandTimeoutMs,
    // Not needed, and the fewer commands, the smaller the ACL (see the README).
    disableClientInfo: true,
    maxRetriesPerRequest: 0,
  }
  if (settings.username !== undefined) options.username = settings.username
  if (settings.password !== undefined) options.password = settings.password
  if (settings.tls !== undefined) options.tls = settings.tls
  if (role === 'command') {
    // A frozen Redis keeps the socket open but never answers: bound every command.
    options.commandTimeout = config.redisCommandTimeoutMs
  } else {
    // The hub subscribes itself on every 'ready' (exactly once per connection); ioredis'
    // own re-subscribe would race with it.
    options.autoResubscribe = false
    options.autoResendUnfulfilledCommands = false
  }
  return options
}

/**
 * The connection for `role`. The subscriber is always one plain connection (in Cluster mode
 * to one node: a classic PUBLISH through any node reaches the subscribers of every node),
 * so the hub sees one 'ready' per connection and subscribes exactly once on it.
 */
export function createRedis(config: Config, role: 'command'): CommandConnection
export function createRedis(config: Config, role: 'subscriber'): Redis
export function createRedis(config: Config, role: ConnectionRole): CommandConnection {
  const settings = connectionSettings(config)
  if (role === 'command' && config.redisDeployment.mode === 'cluster') return createCluster(config, settings)
  const client = createSingle(config, role, settings)
  if (role === 'subscriber') startSubscriberHealthCheck(client, config.redisDeployment.healthCheckMs)
  return client
}

/** One connection: to the standalone Redis, to the primary the Sentinels name, or to one Cluster node. */
function createSingle(config: Config, role: ConnectionRole, settings: ConnectionSettings): Redis {
  const deployment = config.redisDeployment
  const options: RedisOptions = {
    ...nodeOptions(config, role, settings),
    retryStrategy: retryDelay,
    // Fail fast instead of queueing: while Redis is down a request gets its 503 at once,
    // and nothing piles up in memory.
    enableOfflineQueue: false,
    // Smart Client Handoff is for managed Redis; off, so no extra command at connect.
    maintNotifications: 'disabled',
    lazyConnect: true,
  }
  if (role === 'command') options.enableAutoPipelining = true

  switch (deployment.mode) {
    case 'standalone':
      return new Redis({ ...options, host: settings.host, port: settings.port, db: settings.db })
    case 'sentinel':
      return new Redis({
        ...options,
        db: settings.db,
        sentinels: deployment.sentinels,
        name: deployment.sentinelMaster,
        role: 'master',
        sentinelUsername: deployment.sentinelUsername,
        sentinelPassword: deployment.sentinelPassword,
        // A frozen sentinel must not hold up a reconnect.
        sentinelCommandTimeout: config.redisCommandTimeoutMs,
        // Listen for +switch-master and reconnect at once: otherwise the connections stay
        // on the old primary until the Sentinels get round to reconfiguring it (10 s in
        // the failover test), reading stale values from a server no longer written to.
        failoverDetector: true,
        sentinelReconnectStrategy: retryDelay,
        // rediss:// means TLS to the primary ("TLSForSentinelMode") and to the sentinels.
        ...(settings.tls !== undefined
          ? { enableTLSForSentinelMode: true, tls: settings.tls, sentinelTLS: settings.tls }
          : {}),
      })
    case 'cluster':
      // Only the subscriber: the command connection is a Cluster client (createCluster).
      return new Redis({ ...options, Connector: rotatingConnector(deployment.clusterNodes, settings.tls) })
  }
}

function createCluster(config: Config, settings: ConnectionSettings): Cluster {
  const options: ClusterOptions = {
    redisOptions: nodeOptions(config, 'command', settings),
    clusterRetryStrategy: retryDelay,
    enableOfflineQueue: false,
    // Off: an auto-pipelined batch is retried as a whole, past the command timeout (a read
    // took 1.8 s to fail with a 500 ms timeout); single commands keep to the timeout.
    enableAutoPipelining: false,
    // Reads go to the primaries, as in the other modes (a replica may lag behind).
    scaleReads: 'master',
    slotsRefreshTimeout: config.redisCommandTimeoutMs,
    lazyConnect: true,
  }
  return new Cluster(config.redisDeployment.clusterNodes, options)
}
