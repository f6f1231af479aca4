import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import {
  ConfigError,
  DEFAULTS,
  loadConfig,
  REDIS_DEPLOYMENT_DEFAULTS,
  validateConfig,
} from '../../src/config.js'
import { connectionSettings } from '../../src/lib/redis-connection.js'

const dir = mkdtempSync(join(tmpdir(), 'lsa-config-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
function file(name: string, content: string): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
const KEY = '-----BEGIN PRIVATE KEY-----\nsecret-key-body\n-----END PRIVATE KEY-----\n'

t.test('standalone is the default, with the defaults of the block', async (t) => {
  t.same(loadConfig({}).redisDeployment, REDIS_DEPLOYMENT_DEFAULTS)
  t.same(REDIS_DEPLOYMENT_DEFAULTS, {
    mode: 'standalone',
    sentinels: [],
    sentinelMaster: '',
    clusterNodes: [],
    healthCheckMs: 5000,
  })
})

t.test('Sentinel: addresses (default port 26379, IPv6), master name, credentials from a file', async (t) => {
  const config = loadConfig({
    REDIS_SENTINELS: 'sentinel-0:26380, sentinel-1,[fd00::1]:26381',
    REDIS_SENTINEL_MASTER: 'mymaster',
    REDIS_SENTINEL_USERNAME: 'sentinel-user',
    REDIS_SENTINEL_PASSWORD_FILE: file('sentinel-pw', 'sentinel-secret\r\n'),
    REDIS_URL: 'redis://app@ignored-host:6379/2',
    REDIS_PASSWORD: 'data-secret',
  })
  t.same(config.redisDeployment, {
    mode: 'sentinel',
    sentinels: [
      { host: 'sentinel-0', port: 26380 },
      { host: 'sentinel-1', port: 26379 },
      { host: 'fd00::1', port: 26381 },
    ],
    sentinelMaster: 'mymaster',
    sentinelUsername: 'sentinel-user',
    sentinelPassword: 'sentinel-secret',
    clusterNodes: [],
    healthCheckMs: 5000,
  })
  const settings = connectionSettings(config)
  t.same(
    [settings.username, settings.password, settings.db, settings.tls],
    ['app', 'data-secret', 2, undefined],
  )
})

t.test('Cluster: seed nodes (default port 6379)', async (t) => {
  const config = loadConfig({
    REDIS_CLUSTER_NODES: 'node-a:7000,node-b',
    REDIS_HEALTH_CHECK_INTERVAL_MS: '1000',
  })
  t.same(config.redisDeployment, {
    ...REDIS_DEPLOYMENT_DEFAULTS,
    mode: 'cluster',
    clusterNodes: [
      { host: 'node-a', port: 7000 },
      { host: 'node-b', port: 6379 },
    ],
    healthCheckMs: 1000,
  })
})

t.test('TLS: rediss:// with CA, client certificate and key read from files', async (t) => {
  const config = loadConfig({
    REDIS_URL: 'rediss://redis.example:6380/1',
    REDIS_TLS_CA_FILE: file('ca.pem', PEM),
    REDIS_TLS_CERT_FILE: file('cert.pem', PEM),
    REDIS_TLS_KEY_FILE: file('key.pem', KEY),
  })
  t.equal(config.redisDeployment.tlsCa, PEM)
  t.equal(config.redisDeployment.tlsKey, KEY)
  const settings = connectionSettings(config)
  t.same(settings, {
    host: 'redis.example',
    port: 6380,
    username: undefined,
    password: undefined,
    db: 1,
    tls: { ca: PEM, cert: PEM, key: KEY },
  })
  // rediss:// alone: TLS against the system's CAs.
  t.same(connectionSettings(loadConfig({ REDIS_URL: 'rediss://redis.example' })).tls, {})
})

t.test('credentials: REDIS_USERNAME and REDIS_PASSWORD(_FILE) win over USER_PASS and the URL', async (t) => {
  const config = loadConfig({
    REDIS_URL: 'redis://url-user:url-pw@redis:6379/0',
    USER_PASS: 'up-user:up-pw',
    REDIS_USERNAME: 'live-state',
    REDIS_PASSWORD_FILE: file('pw', 'p@ss:w/rd% "x"\n'),
  })
  const settings = connectionSettings(config)
  t.equal(settings.username, 'live-state')
  t.equal(settings.password, 'p@ss:w/rd% "x"')
  t.equal(connectionSettings(loadConfig({ USER_PASS: 'a:b' })).password, 'b')
  t.equal(connectionSettings(loadConfig({ REDIS_URL: 'redis://[::1]:7000' })).host, '::1')
})

const invalid: [Record<string, string>, string][] = [
  [
    { REDIS_SENTINELS: 'a:26379', REDIS_CLUSTER_NODES: 'b:7000', REDIS_SENTINEL_MASTER: 'm' },
    'REDIS_SENTINELS and REDIS_CLUSTER_NODES are both set; set only one',
  ],
  [{ REDIS_SENTINELS: 'a:26379' }, 'REDIS_SENTINEL_MASTER must name the master when REDIS_SENTINELS is set'],
  [{ REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_SENTINEL_MASTER is set but REDIS_SENTINELS is not'],
  [{ REDIS_SENTINEL_PASSWORD: 'x' }, 'REDIS_SENTINEL_PASSWORD is set but REDIS_SENTINELS is not'],
  [{ REDIS_SENTINELS: ' , ' }, 'REDIS_SENTINELS must list at least one host:port'],
  [
    { REDIS_CLUSTER_NODES: 'a:70000' },
    'REDIS_CLUSTER_NODES must be a comma-separated list of host:port (got "a:70000")',
  ],
  [
    { REDIS_CLUSTER_NODES: 'a:b:c' },
    'REDIS_CLUSTER_NODES must be a comma-separated list of host:port (got "a:b:c")',
  ],
  [
    { REDIS_CLUSTER_NODES: 'a:7000', REDIS_URL: 'redis://x:6379/3' },
    'REDIS_CLUSTER_NODES is set and Redis Cluster has only database 0 (REDIS_URL names database 3)',
  ],
  [
    { REDIS_CLUSTER_NODES: 'a:7000', HOST_PORT_DB: 'h:6379/0' },
    'HOST_PORT_DB names one Redis server and cannot be combined with REDIS_CLUSTER_NODES',
  ],
  [
    { REDIS_SENTINELS: 'a', REDIS_SENTINEL_MASTER: 'm', HOST_PORT_DB: 'h' },
    'HOST_PORT_DB names one Redis server and cannot be combined with REDIS_SENTINELS',
  ],
  [
    { REDIS_PASSWORD: 'a', REDIS_PASSWORD_FILE: '/x' },
    'REDIS_PASSWORD and REDIS_PASSWORD_FILE are both set; set only one',
  ],
  [
    { REDIS_PASSWORD_FILE: '/nonexistent/pw' },
    'REDIS_PASSWORD_FILE cannot be read: ENOENT (/nonexistent/pw)',
  ],
  [
    { REDIS_TLS_CA_FILE: '/nonexistent/ca.pem', REDIS_URL: 'rediss://h' },
    'REDIS_TLS_CA_FILE cannot be read: ENOENT (/nonexistent/ca.pem)',
  ],
  [
    { REDIS_HEALTH_CHECK_INTERVAL_MS: '10' },
    'REDIS_HEALTH_CHECK_INTERVAL_MS is invalid: Expected integer to be greater or equal to 100 (got 10)',
  ],
  [
    { REDIS_URL: 'http://user:hunter2@redis' },
    'REDIS_URL must start with redis:// or rediss:// (got "http://user:***@redis")',
  ],
  [
    { REDIS_URL: 'redis://user:hunter 2@re dis' },
    'REDIS_URL must be a URL like redis://host:6379/0 (got "redis://user:***@re dis")',
  ],
]

for (const [env, message] of invalid) {
  t.test(`invalid: ${JSON.stringify(env)}`, async (t) => {
    t.throws(() => loadConfig(env), new ConfigError(message))
  })
}

t.test(
  'invalid files: empty secret, not PEM, TLS files without rediss://, a certificate without its key',
  async (t) => {
    const empty = file('empty', '\n')
    t.throws(
      () => loadConfig({ REDIS_PASSWORD_FILE: empty }),
      new ConfigError(`REDIS_PASSWORD_FILE is empty (${empty})`),
    )
    const notPem = file('not.pem', 'hello')
    t.throws(
      () => loadConfig({ REDIS_URL: 'rediss://h', REDIS_TLS_CA_FILE: notPem }),
      new ConfigError(`REDIS_TLS_CA_FILE is not a PEM file (${notPem})`),
    )
    const pem = file('ok.pem', PEM)
    t.throws(
      () => loadConfig({ REDIS_TLS_CA_FILE: pem }),
      new ConfigError(
        'REDIS_TLS_CA_FILE is set but REDIS_URL is not rediss://; TLS is on only with rediss://',
      ),
    )
    t.throws(
      () => loadConfig({ REDIS_URL: 'rediss://h', REDIS_TLS_CERT_FILE: pem }),
      new ConfigError('REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together: set both or neither'),
    )
  },
)

t.test('a secret that fails validation is never echoed', async (t) => {
  const base = { ...DEFAULTS }
  t.throws(
    () =>
      validateConfig({
        ...base,
        redisDeployment: { ...base.redisDeployment, sentinelPassword: '' },
      }),
    new ConfigError(
      'REDIS_SENTINEL_PASSWORD or REDIS_SENTINEL_PASSWORD_FILE is invalid: Expected string length greater or equal to 1 (got a value that is not shown)',
    ),
  )
  t.throws(
    () => validateConfig({ ...base, redisUrl: 'tcp://u:hunter2@h' }),
    new ConfigError(
      'REDIS_URL (+ HOST_PORT_DB, USER_PASS) is invalid: Expected string to match \'^rediss?://\' (got "tcp://u:***@h")',
    ),
  )
})
