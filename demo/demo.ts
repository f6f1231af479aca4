/**
 * `npm run demo`: a throwaway Redis, the store seeded from the fixtures, the real service,
 * and the fixtures' realistic day replayed on the channel, compressed and looping.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { freePort } from '../bench/free-port.js'
import { clock, MINUTES_PER_DAY, PUBLISHERS, publishesBetween } from './day.js'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const fixturesDir = process.env.FIXTURES_DIR ?? join(repoRoot, '..', 'shared', 'fixtures')
const daySeconds = Number(process.env.DEMO_DAY_SECONDS ?? 240)
const startMinute = 12 * 60 + 50
const channel = process.env.UPDATE_CHANNEL ?? 'update'
const prefix = process.env.KEY_PREFIX ?? ''

const say = (line: string) => process.stdout.write(`${line}\n`)

/** One line, no stack trace, and the fix. */
function fail(line: string): never {
  process.stderr.write(`demo: ${line}\n`)
  process.exit(1)
}

function fixture(name: string): Buffer {
  try {
    return readFileSync(join(fixturesDir, name))
  } catch {
    return fail(
      `fixture ${name} not found in ${fixturesDir} (set FIXTURES_DIR to the shared/fixtures folder)`,
    )
  }
}

/** What the store updater does: the message minus `type` under `<prefix><type>`, unless `values` is empty. */
async function store(redis: Redis, message: Buffer): Promise<void> {
  const { type, ...rest } = JSON.parse(message.toString('utf8')) as { type: string; values?: unknown }
  const v = rest.values
  const empty =
    v === null ||
    v === '' ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && v !== null && Object.keys(v).length === 0)
  if (!empty) await redis.set(prefix + type, JSON.stringify(rest))
}

async function startRedis(): Promise<{ url: string; child?: ChildProcess }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL }
  if (spawnSync('redis-server', ['--version']).error) {
    fail(
      'redis-server is not installed: install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) or set REDIS_URL',
    )
  }
  const port = await freePort().catch(() => fail('could not find a free port'))
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    // Its own process group, like the service's: Ctrl-C reaches the demo alone, which stops it.
    { stdio: 'ignore', detached: true },
  )
  return { url: `redis://127.0.0.1:${port}/0`, child }
}

async function connect(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: (n) => (n > 20 ? null : 100),
  })
  redis.on('error', () => {})
  try {
    await redis.connect()
    await redis.ping()
  } catch {
    for (let i = 0; i < 30 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 100))
    if (redis.status !== 'ready')
      fail(`cannot reach Redis at ${url}: start it, or unset REDIS_URL to let the demo start one`)
  }
  return redis
}

const { url: redisUrl, child: redisChild } = await startRedis()
process.on('exit', () => {
  if (redisChild !== undefined && redisChild.exitCode === null) redisChild.kill('SIGKILL')
})
const redis = await connect(redisUrl)

// Seed the store with each publisher's record and its first data message.
for (const p of PUBLISHERS) {
  await store(redis, fixture(`${p.type}-Server.json`))
  await store(redis, fixture(p.files[0] as string))
}

const port = process.env.PORT ?? '8000'
const service = spawn(process.execPath, [join(repoRoot, 'dist', 'src', 'server.js')], {
  env: {
    ...process.env,
    PORT: port,
    HOST: process.env.HOST ?? '127.0.0.1',
    REDIS_URL: redisUrl,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  },
  stdio: 'inherit',
  // Its own process group: a terminal's Ctrl-C goes to the whole foreground group, and the
  // service would get SIGINT from it and then SIGTERM from stop(), a second signal that makes
  // it exit at once instead of shutting down gracefully. stop() sends the one signal.
  detached: true,
})
// Should the demo die some other way, its children still go with it.
process.on('exit', () => {
  if (service.exitCode === null) service.kill('SIGKILL')
})

let stopping = false
async function stop(code: number): Promise<void> {
  if (stopping) return
  stopping = true
  clearInterval(ticker)
  if (service.exitCode === null) {
    service.kill('SIGTERM')
    await once(service, 'exit')
  }
  redis.disconnect()
  if (redisChild !== undefined && redisChild.exitCode === null) {
    redisChild.kill('SIGTERM')
    await once(redisChild, 'exit')
  }
  process.exit(code)
}
process.on('SIGINT', () => void stop(0))
process.on('SIGTERM', () => void stop(0))
service.on('exit', (code) => {
  if (!stopping) {
    process.stderr.write(`demo: the service exited (code ${code}); see its message above\n`)
    void stop(1)
  }
})

const base = `http://127.0.0.1:${port}`
for (let i = 0; i < 100; i++) {
  const ok = await fetch(`${base}/ready`).then(
    (r) => r.ok,
    () => false,
  )
  if (ok) break
  await new Promise((r) => setTimeout(r, 100))
}
say(
  `live-state-api demo: Redis at ${redisUrl}, channel "${channel}", one simulated day every ${daySeconds} s`,
)
say(`  curl -N ${base}/events`)
say(`  curl ${base}/key/Environment`)
say(`  curl ${base}/key/NFL`)
say(`  curl -X PUT ${base}/webcontrol/pp`)
say('Ctrl-C stops the service and the Redis it started.')

// Replay: each tick publishes what the simulated clock passed since the last one.
const minutesPerMs = MINUTES_PER_DAY / (daySeconds * 1000)
const started = Date.now()
const announced = new Set<string>()
let simulated = 0
let published = 0
let lastReport = 0
const ticker = setInterval(async () => {
  const now = (Date.now() - started) * minutesPerMs
  const due = publishesBetween(startMinute, simulated, now)
  simulated = now
  for (const { type, file } of due) {
    // A publisher announces itself once, before its first data message.
    if (!announced.has(type)) {
      announced.add(type)
      const record = fixture(`${type}-Server.json`)
      await redis.publish(channel, record).catch(() => {})
      published++
    }
    const message = fixture(file)
    await store(redis, message).catch(() => {})
    await redis.publish(channel, message).catch(() => {})
    published++
  }
  if (Date.now() - lastReport >= 10000) {
    lastReport = Date.now()
    say(`[${clock(startMinute, now)} simulated] ${published} messages published`)
  }
}, 100)
