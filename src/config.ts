/** Configuration: the TypeBox schema, the `Config` type and `loadConfig(env)`, the only reader of the environment. */
import { readFileSync } from 'node:fs'
import { type Static, Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

// ---------------------------------------------------------------------------------------
// Redis deployment: standalone, Sentinel or Cluster; TLS material; secrets from files.
//
// REDIS_URL (with USER_PASS, HOST_PORT_DB) still names a standalone Redis and, in every
// mode, carries the scheme (rediss:// turns TLS on), the ACL user, the password and the
// database. REDIS_SENTINELS or REDIS_CLUSTER_NODES switch the mode; then the host and
// port of REDIS_URL are not used. Every variable is documented in the README.
// ---------------------------------------------------------------------------------------

export const RedisAddress = Type.Object(
  {
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
  },
  { additionalProperties: false },
)
export type RedisAddress = Static<typeof RedisAddress>

export const REDIS_MODES = ['standalone', 'sentinel', 'cluster'] as const

export const RedisDeploymentSchema = Type.Object({
  mode: Type.Union(
    REDIS_MODES.map((m) => Type.Literal(m)),
    { description: 'REDIS_SENTINELS or REDIS_CLUSTER_NODES' },
  ),
  sentinels: Type.Array(RedisAddress, { description: 'REDIS_SENTINELS' }),
  sentinelMaster: Type.String({ description: 'REDIS_SENTINEL_MASTER' }),
  sentinelUsername: Type.Optional(Type.String({ minLength: 1, description: 'REDIS_SENTINEL_USERNAME' })),
  sentinelPassword: Type.Optional(
    Type.String({ minLength: 1, description: 'REDIS_SENTINEL_PASSWORD or REDIS_SENTINEL_PASSWORD_FILE' }),
  ),
  clusterNodes: Type.Array(RedisAddress, { description: 'REDIS_CLUSTER_NODES' }),
  /** PEM contents, read at start-up: a missing or unreadable file stops start-up. */
  tlsCa: Type.Optional(Type.String({ minLength: 1, description: 'REDIS_TLS_CA_FILE' })),
  tlsCert: Type.Optional(Type.String({ minLength: 1, description: 'REDIS_TLS_CERT_FILE' })),
  tlsKey: Type.Optional(Type.String({ minLength: 1, description: 'REDIS_TLS_KEY_FILE' })),
  healthCheckMs: Type.Integer({
    minimum: 100,
    maximum: 60000,
    description: 'REDIS_HEALTH_CHECK_INTERVAL_MS',
  }),
})
export type RedisDeployment = Static<typeof RedisDeploymentSchema>

export const REDIS_DEPLOYMENT_DEFAULTS: RedisDeployment = {
  mode: 'standalone',
  sentinels: [],
  sentinelMaster: '',
  clusterNodes: [],
  // A subscriber connection that died without a word (a half-open socket) is found within
  // this interval plus twice REDIS_COMMAND_TIMEOUT_MS, and replaced.
  healthCheckMs: 5000,
}

/** Config fields whose values are secrets: never echoed in an error message. */
const SECRET_FIELDS = new Set(['sentinelPassword', 'tlsKey'])

/** A URL as it may be shown: the password replaced, even when the URL does not parse. */
export function redactUrl(raw: string): string {
  // Up to the last '@': an unencoded '@' or space in a password must not leave a piece of it.
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):.*@/is, '$1:***@')
}

/** A secret from `NAME` or from the file named by `NAME_FILE` (Kubernetes mounts secrets as files). */
function secret(env: Env, name: string): string | undefined {
  const inline = set(env, name)
  const path = set(env, `${name}_FILE`)
  if (inline !== undefined && path !== undefined) {
    throw new ConfigError(`${name} and ${name}_FILE are both set; set only one`)
  }
  if (path === undefined) return inline
  // Trailing line breaks come from `echo` and editors, never from the secret itself.
  const value = readFile(`${name}_FILE`, path).replace(/[\r\n]+$/, '')
  if (value === '') throw new ConfigError(`${name}_FILE is empty (${path})`)
  return value
}

function readFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable'
    throw new ConfigError(`${variable} cannot be read: ${code} (${path})`)
  }
}

function pemFile(env: Env, variable: string): string | undefined {
  const path = set(env, variable)
  if (path === undefined) return undefined
  const pem = readFile(variable, path)
  if (!pem.includes('-----BEGIN ')) throw new ConfigError(`${variable} is not a PEM file (${path})`)
  return pem
}

/** `host:port,host:port` (IPv6 in brackets); a missing port is `defaultPort`. */
function addresses(env: Env, variable: string, defaultPort: number): RedisAddress[] {
  const raw = set(env, variable)
  if (raw === undefined) return []
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (list.length === 0) throw new ConfigError(`${variable} must list at least one host:port`)
  return list.map((item) => {
    const m = /^(?:\[([^\]]+)\]|([^:\s[\]]+))(?::(\d{1,5}))?$/.exec(item)
    const port = Number(m?.[3] ?? defaultPort)
    if (m === null || port < 1 || port > 65535) {
      throw new ConfigError(`${variable} must be a comma-separated list of host:port (got "${item}")`)
    }
    return { host: (m[1] ?? m[2]) as string, port }
  })
}

/** Which Redis deployment the service talks to, from the mode variables; checks their combinations. */
function redisDeployment(env: Env, redisUrl: string): RedisDeployment {
  const sentinels = addresses(env, 'REDIS_SENTINELS', 26379)
  const clusterNodes = addresses(env, 'REDIS_CLUSTER_NODES', 6379)
  const sentinelMaster = set(env, 'REDIS_SENTINEL_MASTER')
  const sentinelUsername = set(env, 'REDIS_SENTINEL_USERNAME')
  const sentinelPassword = secret(env, 'REDIS_SENTINEL_PASSWORD')
  const url = new URL(redisUrl)
  const tls = url.protocol === 'rediss:'
  const deployment: RedisDeployment = {
    ...REDIS_DEPLOYMENT_DEFAULTS,
    sentinels,
    clusterNodes,
    sentinelMaster: sentinelMaster ?? '',
    healthCheckMs: integer(env, 'REDIS_HEALTH_CHECK_INTERVAL_MS', REDIS_DEPLOYMENT_DEFAULTS.healthCheckMs),
  }
  if (sentinelUsername !== undefined) deployment.sentinelUsername = sentinelUsername
  if (sentinelPassword !== undefined) deployment.sentinelPassword = sentinelPassword
  for (const [field, variable] of [
    ['tlsCa', 'REDIS_TLS_CA_FILE'],
    ['tlsCert', 'REDIS_TLS_CERT_FILE'],
    ['tlsKey', 'REDIS_TLS_KEY_FILE'],
  ] as const) {
    const pem = pemFile(env, variable)
    if (pem === undefined) continue
    if (!tls)
      throw new ConfigError(
        `${variable} is set but REDIS_URL is not rediss://; TLS is on only with rediss://`,
      )
    deployment[field] = pem
  }
  if ((deployment.tlsCert === undefined) !== (deployment.tlsKey === undefined)) {
    throw new ConfigError('REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together: set both or neither')
  }

  if (sentinels.length > 0 && clusterNodes.length > 0) {
    throw new ConfigError('REDIS_SENTINELS and REDIS_CLUSTER_NODES are both set; set only one')
  }
  if (sentinels.length > 0) {
    if (sentinelMaster === undefined) {
      throw new ConfigError('REDIS_SENTINEL_MASTER must name the master when REDIS_SENTINELS is set')
    }
    deployment.mode = 'sentinel'
  } else {
    for (const variable of [
      'REDIS_SENTINEL_MASTER',
      'REDIS_SENTINEL_USERNAME',
      'REDIS_SENTINEL_PASSWORD',
      'REDIS_SENTINEL_PASSWORD_FILE',
    ]) {
      if (set(env, variable) !== undefined)
        throw new ConfigError(`${variable} is set but REDIS_SENTINELS is not`)
    }
  }
  if (clusterNodes.length > 0) {
    if (url.pathname !== '/' && url.pathname !== '' && url.pathname !== '/0') {
      throw new ConfigError(
        `REDIS_CLUSTER_NODES is set and Redis Cluster has only database 0 (REDIS_URL names database ${url.pathname.slice(1)})`,
      )
    }
    deployment.mode = 'cluster'
  }
  if (deployment.mode !== 'standalone' && set(env, 'HOST_PORT_DB') !== undefined) {
    const variable = deployment.mode === 'sentinel' ? 'REDIS_SENTINELS' : 'REDIS_CLUSTER_NODES'
    throw new ConfigError(`HOST_PORT_DB names one Redis server and cannot be combined with ${variable}`)
  }
  return deployment
}
// ------------------------------- end of the Redis deployment block -------------------------------

export const ConfigSchema = Type.Object({
  port: Type.Integer({ minimum: 0, maximum: 65535, description: 'PORT' }),
  host: Type.String({ minLength: 1, description: 'HOST' }),
  redisUrl: Type.String({ pattern: '^rediss?://', description: 'REDIS_URL (+ HOST_PORT_DB, USER_PASS)' }),
  updateChannel: Type.String({ minLength: 1, description: 'UPDATE_CHANNEL or IN_CHANNEL' }),
  keyPrefix: Type.String({ description: 'KEY_PREFIX' }),
  corsOrigins: Type.Array(Type.String({ minLength: 1 }), { description: 'CORS_ORIGINS' }),
  logLevel: Type.Union(
    LOG_LEVELS.map((l) => Type.Literal(l)),
    { description: 'LOG_LEVEL' },
  ),
  heartbeatMs: Type.Integer({ minimum: 10, description: 'HEARTBEAT_INTERVAL_MS' }),
  webcontrolCommands: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]+$' }), {
    minItems: 1,
    description: 'WEBCONTROL_COMMANDS',
  }),
  redisCommandTimeoutMs: Type.Integer({
    minimum: 50,
    maximum: 1900,
    description: 'REDIS_COMMAND_TIMEOUT_MS',
  }),
  clientMaxBufferBytes: Type.Integer({ minimum: 1024, description: 'CLIENT_MAX_BUFFER_BYTES' }),
  clientWriteBudgetBytes: Type.Integer({ minimum: 0, description: 'CLIENT_WRITE_BUDGET_BYTES' }),
  shutdownTimeoutMs: Type.Integer({ minimum: 100, maximum: 60000, description: 'SHUTDOWN_TIMEOUT_MS' }),
  // Delivery guarantees: resume, snapshots, every replica, limits.
  controlChannel: Type.String({ minLength: 1, description: 'CONTROL_CHANNEL' }),
  replayMaxEvents: Type.Integer({ minimum: 0, description: 'REPLAY_MAX_EVENTS' }),
  replayMaxBytes: Type.Integer({ minimum: 0, description: 'REPLAY_MAX_BYTES' }),
  commandReplayTtlMs: Type.Integer({ minimum: 0, description: 'COMMAND_REPLAY_TTL_MS' }),
  snapshotTypes: Type.Array(Type.String({ minLength: 1 }), { description: 'SNAPSHOT_TYPES' }),
  maxStreams: Type.Integer({ minimum: 1, description: 'MAX_STREAMS' }),
  redisDeployment: RedisDeploymentSchema,
})

export type Config = Static<typeof ConfigSchema>

export const DEFAULTS: Config = {
  port: 8000,
  host: '0.0.0.0',
  redisUrl: 'redis://127.0.0.1:6379/0',
  updateChannel: 'update',
  keyPrefix: '',
  corsOrigins: ['http://localhost:3001'],
  logLevel: 'info',
  heartbeatMs: 15000,
  webcontrolCommands: ['pp', 'fwd', 'rew', 'out', 'reload'],
  // Below the contract's 2 s: a slow Redis turns into a 503 before the client gives up.
  redisCommandTimeoutMs: 1500,
  // About 130 NFL messages: a display that falls this far behind reconnects instead.
  clientMaxBufferBytes: 1024 * 1024,
  // Bytes a socket may hold unsent before a client's events queue and coalesce: a burst
  // of a dozen 8 KB messages goes out whole. A slow client costs at most this plus the above.
  clientWriteBudgetBytes: 128 * 1024,
  // Kubernetes sends SIGKILL 30 s after SIGTERM by default; the contract asks for 10 s.
  shutdownTimeoutMs: 8000,
  // Never the update channel: its store updater would persist the commands.
  controlChannel: 'webcontrol',
  // A busy game day (NFL every 60 s, MLB every 30 s, the rest every 10-60 min) is under
  // 20 events and 200 KB per five minutes: these hold hours of it, and bursts.
  replayMaxEvents: 2000,
  replayMaxBytes: 16 * 1024 * 1024,
  commandReplayTtlMs: 30000,
  // The types of the fixtures; types seen on the channel are added at run time.
  snapshotTypes: [
    'AQI',
    'Calendar',
    'Events',
    'GitHub',
    'MLB',
    'Moon',
    'NFL',
    'Track',
    'Weather',
    'WorldCup',
  ],
  // Below the usual 20,000 open-file limit, leaving room for Redis and other sockets.
  maxStreams: 19000,
  redisDeployment: REDIS_DEPLOYMENT_DEFAULTS,
}

/** Invalid configuration: the message names the variable, and is all the operator needs to see. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Env = Record<string, string | undefined>

function set(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

function integer(env: Env, name: string, fallback: number): number {
  const raw = set(env, name)
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number (got "${raw}")`)
  return Number(raw)
}

function list(env: Env, name: string, fallback: string[]): string[] {
  const raw = set(env, name)
  if (raw === undefined) return fallback
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/**
 * The newer deployments give the Redis address in parts. Each part that is set replaces
 * the same part of REDIS_URL ("the specific variables win over the composed URL").
 */
function redisUrl(env: Env): string {
  const base = set(env, 'REDIS_URL') ?? DEFAULTS.redisUrl
  let url: URL
  try {
    url = new URL(base)
  } catch {
    throw new ConfigError(`REDIS_URL must be a URL like redis://host:6379/0 (got "${redactUrl(base)}")`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`REDIS_URL must start with redis:// or rediss:// (got "${redactUrl(base)}")`)
  }
  const hostPortDb = set(env, 'HOST_PORT_DB')
  if (hostPortDb !== undefined) {
    const m = /^(\[[^\]]+\]|[^:/\s]+)(?::(\d{1,5}))?(?:\/(\d{1,2}))?$/.exec(hostPortDb)
    if (m === null) throw new ConfigError(`HOST_PORT_DB must look like host:port/db (got "${hostPortDb}")`)
    url.hostname = m[1] as string
    url.port = m[2] ?? '6379'
    url.pathname = `/${m[3] ?? '0'}`
  }
  const userPass = set(env, 'USER_PASS')
  if (userPass !== undefined) {
    const colon = userPass.indexOf(':')
    if (colon < 0) throw new ConfigError('USER_PASS must look like user:pass (the user may be empty)')
    url.username = encodeURIComponent(userPass.slice(0, colon))
    url.password = encodeURIComponent(userPass.slice(colon + 1))
  }
  // The most specific variables win: REDIS_USERNAME and REDIS_PASSWORD(_FILE) over USER_PASS.
  const username = set(env, 'REDIS_USERNAME')
  if (username !== undefined) url.username = encodeURIComponent(username)
  const password = secret(env, 'REDIS_PASSWORD')
  if (password !== undefined) url.password = encodeURIComponent(password)
  const db = url.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d+$/.test(db)) {
    throw new ConfigError(`REDIS_URL database must be a number (got "${db}")`)
  }
  return url.toString()
}

/** Reads the environment once, applies defaults, validates, and names the variable at fault. */
export function loadConfig(env: Env = process.env): Config {
  const url = redisUrl(env)
  const config: Config = {
    port: integer(env, 'PORT', DEFAULTS.port),
    host: set(env, 'HOST') ?? DEFAULTS.host,
    redisUrl: url,
    // UPDATE_CHANNEL is this service's own name for it; IN_CHANNEL is the newer deployments'.
    updateChannel: set(env, 'UPDATE_CHANNEL') ?? set(env, 'IN_CHANNEL') ?? DEFAULTS.updateChannel,
    // Not trimmed to nothing: an explicit empty prefix is the default anyway.
    keyPrefix: env.KEY_PREFIX ?? DEFAULTS.keyPrefix,
    corsOrigins: list(env, 'CORS_ORIGINS', DEFAULTS.corsOrigins),
    logLevel: (set(env, 'LOG_LEVEL')?.toLowerCase() ?? DEFAULTS.logLevel) as Config['logLevel'],
    heartbeatMs: integer(env, 'HEARTBEAT_INTERVAL_MS', DEFAULTS.heartbeatMs),
    webcontrolCommands: list(env, 'WEBCONTROL_COMMANDS', DEFAULTS.webcontrolCommands),
    redisCommandTimeoutMs: integer(env, 'REDIS_COMMAND_TIMEOUT_MS', DEFAULTS.redisCommandTimeoutMs),
    clientMaxBufferBytes: integer(env, 'CLIENT_MAX_BUFFER_BYTES', DEFAULTS.clientMaxBufferBytes),
    clientWriteBudgetBytes: integer(env, 'CLIENT_WRITE_BUDGET_BYTES', DEFAULTS.clientWriteBudgetBytes),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', DEFAULTS.shutdownTimeoutMs),
    controlChannel: set(env, 'CONTROL_CHANNEL') ?? DEFAULTS.controlChannel,
    replayMaxEvents: integer(env, 'REPLAY_MAX_EVENTS', DEFAULTS.replayMaxEvents),
    replayMaxBytes: integer(env, 'REPLAY_MAX_BYTES', DEFAULTS.replayMaxBytes),
    commandReplayTtlMs: integer(env, 'COMMAND_REPLAY_TTL_MS', DEFAULTS.commandReplayTtlMs),
    snapshotTypes: list(env, 'SNAPSHOT_TYPES', DEFAULTS.snapshotTypes),
    maxStreams: integer(env, 'MAX_STREAMS', DEFAULTS.maxStreams),
    redisDeployment: redisDeployment(env, url),
  }
  return validateConfig(config)
}

/** Checks a whole config object (also what tests pass to the app) against the schema. */
export function validateConfig(config: Config): Config {
  const error = Value.Errors(ConfigSchema, config).First()
  if (error !== undefined) {
    // The deepest schema on the path that names its variable (nested: redisDeployment/…).
    let schema: unknown = ConfigSchema
    let variable = ''
    let got = JSON.stringify(error.value)
    for (const part of error.path.split('/').slice(1)) {
      const node = schema as { properties?: Record<string, unknown>; items?: unknown } | undefined
      schema = node?.properties?.[part] ?? node?.items
      const description = (schema as { description?: string } | undefined)?.description
      if (description !== undefined) variable = description
      if (part === 'redisUrl' && typeof error.value === 'string') got = JSON.stringify(redactUrl(error.value))
      else if (SECRET_FIELDS.has(part)) got = 'a value that is not shown'
    }
    throw new ConfigError(`${variable || error.path} is invalid: ${error.message} (got ${got})`)
  }
  if (config.controlChannel === config.updateChannel) {
    throw new ConfigError(
      `CONTROL_CHANNEL must differ from the update channel (both are "${config.updateChannel}")`,
    )
  }
  return config
}
