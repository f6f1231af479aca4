/** Configuration: the TypeBox schema, the `Config` type and `loadConfig(env)`, the only reader of the environment. */
import { type Static, Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

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
  shutdownTimeoutMs: Type.Integer({ minimum: 100, maximum: 60000, description: 'SHUTDOWN_TIMEOUT_MS' }),
  // Delivery guarantees: resume, snapshots, every replica, limits.
  controlChannel: Type.String({ minLength: 1, description: 'CONTROL_CHANNEL' }),
  replayMaxEvents: Type.Integer({ minimum: 0, description: 'REPLAY_MAX_EVENTS' }),
  replayMaxBytes: Type.Integer({ minimum: 0, description: 'REPLAY_MAX_BYTES' }),
  commandReplayTtlMs: Type.Integer({ minimum: 0, description: 'COMMAND_REPLAY_TTL_MS' }),
  snapshotTypes: Type.Array(Type.String({ minLength: 1 }), { description: 'SNAPSHOT_TYPES' }),
  maxStreams: Type.Integer({ minimum: 1, description: 'MAX_STREAMS' }),
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
    throw new ConfigError(`REDIS_URL must be a URL like redis://host:6379/0 (got "${base}")`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`REDIS_URL must start with redis:// or rediss:// (got "${base}")`)
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
  const db = url.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d+$/.test(db)) {
    throw new ConfigError(`REDIS_URL database must be a number (got "${db}")`)
  }
  return url.toString()
}

/** Reads the environment once, applies defaults, validates, and names the variable at fault. */
export function loadConfig(env: Env = process.env): Config {
  const config: Config = {
    port: integer(env, 'PORT', DEFAULTS.port),
    host: set(env, 'HOST') ?? DEFAULTS.host,
    redisUrl: redisUrl(env),
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
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', DEFAULTS.shutdownTimeoutMs),
    controlChannel: set(env, 'CONTROL_CHANNEL') ?? DEFAULTS.controlChannel,
    replayMaxEvents: integer(env, 'REPLAY_MAX_EVENTS', DEFAULTS.replayMaxEvents),
    replayMaxBytes: integer(env, 'REPLAY_MAX_BYTES', DEFAULTS.replayMaxBytes),
    commandReplayTtlMs: integer(env, 'COMMAND_REPLAY_TTL_MS', DEFAULTS.commandReplayTtlMs),
    snapshotTypes: list(env, 'SNAPSHOT_TYPES', DEFAULTS.snapshotTypes),
    maxStreams: integer(env, 'MAX_STREAMS', DEFAULTS.maxStreams),
  }
  return validateConfig(config)
}

/** Checks a whole config object (also what tests pass to the app) against the schema. */
export function validateConfig(config: Config): Config {
  const error = Value.Errors(ConfigSchema, config).First()
  if (error !== undefined) {
    const field = error.path.split('/')[1] ?? ''
    const schema = (ConfigSchema.properties as Record<string, { description?: string }>)[field]
    const variable = schema?.description ?? field
    throw new ConfigError(`${variable} is invalid: ${error.message} (got ${JSON.stringify(error.value)})`)
  }
  if (config.controlChannel === config.updateChannel) {
    throw new ConfigError(
      `CONTROL_CHANNEL must differ from the update channel (both are "${config.updateChannel}")`,
    )
  }
  return config
}
