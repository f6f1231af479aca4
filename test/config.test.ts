import t from 'tap'
import { ConfigError, DEFAULTS, loadConfig } from '../src/config.js'

t.test('defaults match the contract', async (t) => {
  const config = loadConfig({})
  t.same(config, {
    port: 8000,
    host: '0.0.0.0',
    redisUrl: 'redis://127.0.0.1:6379/0',
    updateChannel: 'update',
    keyPrefix: '',
    corsOrigins: ['http://localhost:3001'],
    logLevel: 'info',
    heartbeatMs: 15000,
    webcontrolCommands: ['pp', 'fwd', 'rew', 'out', 'reload'],
    redisCommandTimeoutMs: 1500,
    clientMaxBufferBytes: 1048576,
    clientWriteBudgetBytes: 131072,
    shutdownTimeoutMs: 8000,
    controlChannel: 'webcontrol',
    replayMaxEvents: 2000,
    replayMaxBytes: 16777216,
    commandReplayTtlMs: 30000,
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
    maxStreams: 19000,
    redisDeployment: {
      mode: 'standalone',
      sentinels: [],
      sentinelMaster: '',
      clusterNodes: [],
      healthCheckMs: 5000,
    },
  })
  t.same(config, DEFAULTS)
})

t.test('every variable is read', async (t) => {
  const config = loadConfig({
    PORT: '9001',
    HOST: '127.0.0.1',
    REDIS_URL: 'redis://redis.example:6380/2',
    UPDATE_CHANNEL: 'updates',
    KEY_PREFIX: 'update:',
    CORS_ORIGINS: 'http://a.example, https://b.example',
    LOG_LEVEL: 'DEBUG',
    HEARTBEAT_INTERVAL_MS: '5000',
    WEBCONTROL_COMMANDS: 'pp,next',
    REDIS_COMMAND_TIMEOUT_MS: '1000',
    CLIENT_MAX_BUFFER_BYTES: '65536',
    CLIENT_WRITE_BUDGET_BYTES: '0',
    SHUTDOWN_TIMEOUT_MS: '5000',
    CONTROL_CHANNEL: 'ctl',
    REPLAY_MAX_EVENTS: '10',
    REPLAY_MAX_BYTES: '4096',
    COMMAND_REPLAY_TTL_MS: '1000',
    SNAPSHOT_TYPES: 'Weather,AQI',
    MAX_STREAMS: '3',
  })
  t.same(config, {
    port: 9001,
    host: '127.0.0.1',
    redisUrl: 'redis://redis.example:6380/2',
    updateChannel: 'updates',
    keyPrefix: 'update:',
    corsOrigins: ['http://a.example', 'https://b.example'],
    logLevel: 'debug',
    heartbeatMs: 5000,
    webcontrolCommands: ['pp', 'next'],
    redisCommandTimeoutMs: 1000,
    clientMaxBufferBytes: 65536,
    clientWriteBudgetBytes: 0,
    shutdownTimeoutMs: 5000,
    controlChannel: 'ctl',
    replayMaxEvents: 10,
    replayMaxBytes: 4096,
    commandReplayTtlMs: 1000,
    snapshotTypes: ['Weather', 'AQI'],
    maxStreams: 3,
    redisDeployment: {
      mode: 'standalone',
      sentinels: [],
      sentinelMaster: '',
      clusterNodes: [],
      healthCheckMs: 5000,
    },
  })
})

t.test('newer-generation variables: IN_CHANNEL, HOST_PORT_DB, USER_PASS', async (t) => {
  const config = loadConfig({ IN_CHANNEL: 'in', HOST_PORT_DB: 'redis.svc:6381/3', USER_PASS: 'api:s3cr:et' })
  t.equal(config.updateChannel, 'in')
  t.equal(config.redisUrl, 'redis://api:s3cr%3Aet@redis.svc:6381/3')
})

t.test('the specific variables win over the composed URL', async (t) => {
  const config = loadConfig({
    REDIS_URL: 'redis://old:pw@old-host:6379/0',
    HOST_PORT_DB: 'new-host:6390/4',
    USER_PASS: 'new:pw2',
    UPDATE_CHANNEL: 'update',
    IN_CHANNEL: 'ignored',
  })
  t.equal(config.redisUrl, 'redis://new:pw2@new-host:6390/4')
  t.equal(config.updateChannel, 'update')
})

t.test('HOST_PORT_DB parts default to port 6379 and db 0', async (t) => {
  t.equal(loadConfig({ HOST_PORT_DB: 'redis' }).redisUrl, 'redis://redis:6379/0')
  t.equal(loadConfig({ HOST_PORT_DB: 'redis:7000' }).redisUrl, 'redis://redis:7000/0')
})

t.test('an empty CORS_ORIGINS allows no origin', async (t) => {
  t.same(loadConfig({ CORS_ORIGINS: ' , ' }).corsOrigins, [])
})

const invalid: [Record<string, string>, string][] = [
  [{ PORT: 'eighty' }, 'PORT must be a whole number (got "eighty")'],
  [
    { UPDATE_CHANNEL: 'same', CONTROL_CHANNEL: 'same' },
    'CONTROL_CHANNEL must differ from the update channel (both are "same")',
  ],
  [{ MAX_STREAMS: '0' }, 'MAX_STREAMS is invalid: Expected integer to be greater or equal to 1 (got 0)'],
  [{ PORT: '70000' }, 'PORT is invalid: Expected integer to be less or equal to 65535 (got 70000)'],
  [{ REDIS_URL: 'http://x' }, 'REDIS_URL must start with redis:// or rediss:// (got "http://x")'],
  [{ REDIS_URL: 'not a url' }, 'REDIS_URL must be a URL like redis://host:6379/0 (got "not a url")'],
  [{ REDIS_URL: 'redis://h:6379/x' }, 'REDIS_URL database must be a number (got "x")'],
  [{ HOST_PORT_DB: 'a:b:c' }, 'HOST_PORT_DB must look like host:port/db (got "a:b:c")'],
  [{ USER_PASS: 'nocolon' }, 'USER_PASS must look like user:pass (the user may be empty)'],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL is invalid: Expected union value (got "loud")'],
  [
    { HEARTBEAT_INTERVAL_MS: '5' },
    'HEARTBEAT_INTERVAL_MS is invalid: Expected integer to be greater or equal to 10 (got 5)',
  ],
  [
    { WEBCONTROL_COMMANDS: ',' },
    'WEBCONTROL_COMMANDS is invalid: Expected array length to be greater or equal to 1 (got [])',
  ],
  [
    { WEBCONTROL_COMMANDS: 'pp,bad cmd' },
    'WEBCONTROL_COMMANDS is invalid: Expected string to match \'^[A-Za-z0-9_-]+$\' (got "bad cmd")',
  ],
  [
    { REDIS_COMMAND_TIMEOUT_MS: '5000' },
    'REDIS_COMMAND_TIMEOUT_MS is invalid: Expected integer to be less or equal to 1900 (got 5000)',
  ],
]

for (const [env, message] of invalid) {
  t.test(`invalid: ${JSON.stringify(env)}`, async (t) => {
    t.throws(() => loadConfig(env), new ConfigError(message))
  })
}
