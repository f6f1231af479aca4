/**
 * TLS with certificates made here, an ACL user limited to what the service needs (the
 * README's minimal ACL), the password from a file; the real process, logging at debug:
 * no secret in its output or in any answer, and the ACL never refused a command.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { aclRefusals, createServiceUser, minimalAcl, SERVICE_USER } from '../helpers/acl.js'
import { checkAnswers, numsub, publishAndCheck, startProbes, timedGet } from '../helpers/fault-checks.js'
import { RedisServer } from '../helpers/redis-server.js'
import { withClient } from '../helpers/redis-topology.js'
import { type ServerProcess, startServer, statusOf } from '../helpers/server-process.js'
import { openEvents } from '../helpers/sse-client.js'
import { makeCertificates } from '../helpers/tls-certs.js'
import { waitFor } from '../helpers/wait.js'

const certs = makeCertificates()
t.teardown(() => certs.remove())

const ADMIN_PASSWORD = 'admin-only-pw-7Qe'
// Every character that could break a URL or a shell: the password must still work.
const SERVICE_PASSWORD = 's3cr:et@/%+ "pw"#9'
const PREFIX = 'update:'
const CHANNEL = 'tls-updates'
/** The README's minimal ACL for this configuration (prefix `update:`, channel `tls-updates`). */
const MINIMAL_ACL = minimalAcl(SERVICE_PASSWORD, PREFIX, CHANNEL)

const tls = {
  ca: readFileSync(certs.caFile),
  cert: readFileSync(certs.clientCertFile),
  key: readFileSync(certs.clientKeyFile),
}
const redis = await RedisServer.start({
  tls: {
    certFile: certs.serverCertFile,
    keyFile: certs.serverKeyFile,
    caFile: certs.caFile,
    authClients: true,
  },
  args: ['--requirepass', ADMIN_PASSWORD],
  clientOptions: { tls, password: ADMIN_PASSWORD },
})
t.teardown(() => redis.stop())

async function setUp(): Promise<void> {
  await withClient(redis, async (c) => {
    await c.set(`${PREFIX}Weather`, '{"values":{"temp":61.5}}')
    await c.set(`${PREFIX}AQI`, '{"values":{"aqi":42}}')
  })
  await createServiceUser(redis, MINIMAL_ACL)
}
await setUp()

const passwordFile = join(certs.dir, 'redis-password')
writeFileSync(passwordFile, `${SERVICE_PASSWORD}\n`)

function serviceEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: `rediss://${SERVICE_USER}@127.0.0.1:${redis.port}/0`,
    REDIS_PASSWORD_FILE: passwordFile,
    REDIS_TLS_CA_FILE: certs.caFile,
    REDIS_TLS_CERT_FILE: certs.clientCertFile,
    REDIS_TLS_KEY_FILE: certs.clientKeyFile,
    KEY_PREFIX: PREFIX,
    UPDATE_CHANNEL: CHANNEL,
    LOG_LEVEL: 'debug',
    REDIS_COMMAND_TIMEOUT_MS: '300',
    REDIS_HEALTH_CHECK_INTERVAL_MS: '200',
    ...extra,
  }
}

/** The secret in every form it could leak in: as is, URL-encoded, and the key file's body. */
function secretsIn(text: string): string[] {
  const keyBody = readFileSync(certs.clientKeyFile, 'utf8').split('\n')[1] as string
  const forms = [SERVICE_PASSWORD, encodeURIComponent(SERVICE_PASSWORD), 's3cr:et@', keyBody, 'wrong-pw-Zz9']
  return forms.filter((f) => text.includes(f))
}

async function stopServer(server: ServerProcess): Promise<number | null> {
  server.child.kill('SIGTERM')
  return (await server.exited).code
}

t.test('TLS and an ACL user: reads, the aggregate, the stream, a restart; no secret anywhere', async (t) => {
  const server = await startServer(serviceEnv())
  t.teardown(() => server.child.kill('SIGKILL'))
  await waitFor(async () => (await statusOf(`${server.url}/ready`)) === 200, 'the service to be ready', {
    timeoutMs: 10000,
  })
  const weather = await timedGet(server.url, '/key/Weather')
  t.equal(weather.status, 200)
  t.equal(weather.body, '{"values":{"temp":61.5}}')
  const env = await timedGet(server.url, '/key/Environment')
  t.equal(env.body, '{"AQI":{"values":{"aqi":42}},"Moon":{},"Weather":{"values":{"temp":61.5}}}')

  const clients = [await openEvents(server.url), await openEvents(server.url)]
  t.teardown(() => {
    for (const c of clients) c.close()
  })
  const publisher = redis.client()
  t.teardown(() => publisher.disconnect())
  await waitFor(async () => (await numsub([redis], CHANNEL)) === 1, 'subscribed')
  await publishAndCheck(t, [publisher], CHANNEL, clients, 'over-tls')

  // A fault under TLS too: Redis restarted (the ACL user set up again, as a real
  // deployment's ACL file would).
  const probes = startProbes(t, server.url, ['/key/Weather', '/ready'])
  await redis.stop()
  await waitFor(async () => (await statusOf(`${server.url}/ready`)) === 503, 'not ready while Redis is down')
  await redis.launch()
  await setUp()
  await waitFor(async () => (await statusOf(`${server.url}/ready`)) === 200, 'ready again', {
    timeoutMs: 10000,
  })
  checkAnswers(t, await probes.stop(), 'TLS restart')
  t.equal(await numsub([redis], CHANNEL), 1, 'one subscription')
  const again = redis.client()
  t.teardown(() => again.disconnect())
  await publishAndCheck(t, [again], CHANNEL, clients, 'over-tls-after-restart')
  t.same(
    clients.map((c) => c.ended),
    [false, false],
    'clients stayed connected',
  )

  t.equal(await stopServer(server), 0)
  // Checked after the shutdown, so that its QUIT counts too.
  t.same(await aclRefusals(redis), [], 'the ACL refused nothing the service sent')
  t.match(server.output(), /"level":20/, 'the output is at debug level')
  t.same(secretsIn(server.output()), [], 'no secret in the debug output')
})

t.test('a wrong password: not ready, 503, and neither password in the output or the answers', async (t) => {
  const wrongFile = join(certs.dir, 'wrong-password')
  writeFileSync(wrongFile, 'wrong-pw-Zz9')
  const server = await startServer(serviceEnv({ REDIS_PASSWORD_FILE: wrongFile }))
  t.teardown(() => server.child.kill('SIGKILL'))
  await waitFor(async () => (await statusOf(`${server.url}/live`)) === 200, 'the service to serve')
  await waitFor(() => server.output().includes('WRONGPASS'), 'the refusal to be logged')
  const answers = [
    await timedGet(server.url, '/ready'),
    await timedGet(server.url, '/key/Weather'),
    await timedGet(server.url, '/key/Environment'),
  ]
  t.same(
    answers.map((a) => [a.status, a.body]),
    [
      [503, '{"status":"unavailable"}'],
      [503, '{"error":"Redis unavailable"}'],
      [503, '{"error":"Redis unavailable"}'],
    ],
  )
  t.equal(await stopServer(server), 0)
  t.same(secretsIn(server.output()), [], 'no password in the debug output')
})

t.test('no client certificate: the TLS handshake fails, the service says why without secrets', async (t) => {
  const env = serviceEnv()
  delete env.REDIS_TLS_CERT_FILE
  delete env.REDIS_TLS_KEY_FILE
  const server = await startServer(env)
  t.teardown(() => server.child.kill('SIGKILL'))
  await waitFor(async () => (await statusOf(`${server.url}/live`)) === 200, 'the service to serve')
  await waitFor(() => /Redis connection failed/.test(server.output()), 'the failure to be logged')
  t.equal(await statusOf(`${server.url}/ready`), 503)
  t.equal(await stopServer(server), 0)
  t.same(secretsIn(server.output()), [], 'no secret in the debug output')
})
