/**
 * `npm run soak`: the demo's traffic against the real service for a bounded time, with
 * Redis restarted at random intervals and a set of SSE clients; reports messages
 * published, delivered, lost (during outages only), duplicated (must be 0) and the
 * service's memory at start and end. Everything runs on loopback and stops by itself.
 *
 * SOAK_SECONDS (600), SOAK_CLIENTS (20), SOAK_RESTART_MIN_SECONDS (15),
 * SOAK_RESTART_MAX_SECONDS (45), SOAK_MAX_DOWN_MS (3000), SOAK_DAY_SECONDS (240: one
 * simulated day of the demo's schedule, about 13 messages a second), FIXTURES_DIR.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { type IncomingMessage, request } from 'node:http'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { freePort, redisAnswers } from '../bench/processes.js'
import { PUBLISHERS, publishesBetween } from '../demo/day.js'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const fixturesDir = process.env.FIXTURES_DIR ?? join(repoRoot, '..', 'shared', 'fixtures')

function setting(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) fail(`${name} must be a positive number (got "${raw}")`)
  return value
}

const SECONDS = setting('SOAK_SECONDS', 600)
const CLIENTS = setting('SOAK_CLIENTS', 20)
const RESTART_MIN_S = setting('SOAK_RESTART_MIN_SECONDS', 15)
const RESTART_MAX_S = Math.max(RESTART_MIN_S, setting('SOAK_RESTART_MAX_SECONDS', 45))
const MAX_DOWN_MS = setting('SOAK_MAX_DOWN_MS', 3000)
const DAY_SECONDS = setting('SOAK_DAY_SECONDS', 240)
const CHANNEL = 'update'

const say = (line: string) => process.stdout.write(`${line}\n`)

function fail(line: string): never {
  process.stderr.write(`soak: ${line}\n`)
  process.exit(2)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const between = (min: number, max: number) => min + Math.random() * (max - min)

// ---- Redis, restarted at random --------------------------------------------------------

const redisPort = await freePort()
let redis: ChildProcess | undefined

async function startRedis(): Promise<void> {
  const child = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  child.on('error', () => fail('cannot run redis-server (Debian/Ubuntu: apt-get install -y redis-server)'))
  redis = child
  for (let i = 0; i < 100; i++) {
    if (await redisAnswers(redisPort)) return
    await sleep(50)
  }
  fail('redis-server did not start')
}

async function killRedis(): Promise<void> {
  const child = redis
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

// ---- the service -----------------------------------------------------------------------

await startRedis()
const servicePort = await freePort()
const base = `http://127.0.0.1:${servicePort}`
const service = spawn(process.execPath, [join(repoRoot, 'dist', 'src', 'server.js')], {
  env: {
    PATH: process.env.PATH ?? '',
    PORT: String(servicePort),
    HOST: '127.0.0.1',
    REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
    UPDATE_CHANNEL: CHANNEL,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
})
let serviceExit: string | undefined
service.on('exit', (code, signal) => {
  serviceExit = `code ${code}, signal ${signal}`
})

async function get(path: string): Promise<{ status: number; ms: number }> {
  const started = Date.now()
  try {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) })
    await res.arrayBuffer()
    return { status: res.status, ms: Date.now() - started }
  } catch {
    return { status: 0, ms: Date.now() - started }
  }
}

for (let i = 0; (await get('/ready')).status !== 200; i++) {
  if (i > 100 || serviceExit !== undefined)
    fail(`the service did not become ready (${serviceExit ?? 'timeout'})`)
  await sleep(100)
}

/** Resident memory of the service (Linux /proc), in bytes; undefined elsewhere. */
function serviceRss(): number | undefined {
  try {
    const status = readFileSync(`/proc/${service.pid}/status`, 'utf8')
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]
    return kb === undefined ? undefined : Number(kb) * 1024
  } catch {
    return undefined
  }
}

// ---- SSE clients: every message's sequence number, counted ----------------------------

interface Client {
  seen: Map<number, number>
  disconnects: number
  close(): void
}

function openClient(): Client {
  const client: Client = { seen: new Map(), disconnects: 0, close: () => {} }
  let stopped = false
  const connect = () => {
    const req = request(`${base}/events`, { agent: false })
    let pending = ''
    req.on('response', (res: IncomingMessage) => {
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        pending += chunk
        const frames = pending.split('\n\n')
        pending = frames.pop() ?? ''
        for (const frame of frames) {
          const seq = /^data: \{"soak":(\d+),/m.exec(frame)?.[1]
          if (seq !== undefined) client.seen.set(Number(seq), (client.seen.get(Number(seq)) ?? 0) + 1)
        }
      })
      res.on('close', () => {
        if (stopped) return
        client.disconnects++
        setTimeout(connect, 200)
      })
    })
    req.on('error', () => {
      if (stopped) return
      client.disconnects++
      setTimeout(connect, 200)
    })
    req.end()
    client.close = () => {
      stopped = true
      req.destroy()
    }
  }
  connect()
  return client
}

const clients = Array.from({ length: CLIENTS }, openClient)
await sleep(500)
const rssStart = serviceRss()

// ---- traffic: the demo's day, each message numbered ------------------------------------

const fixtures = new Map<string, string>()
function fixture(name: string): string {
  let text = fixtures.get(name)
  if (text === undefined) {
    try {
      text = readFileSync(join(fixturesDir, name), 'utf8').trim()
    } catch {
      fail(`fixture ${name} not found in ${fixturesDir} (set FIXTURES_DIR)`)
    }
    if (!text.startsWith('{')) fail(`fixture ${name} is not a JSON object`)
    fixtures.set(name, text)
  }
  return text
}

const publisher = new Redis(redisPort, '127.0.0.1', {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: 1000,
  retryStrategy: () => 100,
})
publisher.on('error', () => {})

let seq = 0
/** Receivers per sequence number, as PUBLISH counted them: 0 while the service was not subscribed. */
const receivers = new Map<number, number>()
/** The message type of each sequence number: a slow client may get a newer one of its type instead. */
const typeOf = new Map<number, string>()
let rejected = 0

async function publish(file: string, type: string): Promise<void> {
  const n = seq++
  typeOf.set(n, type)
  const text = fixture(file)
  const message = `{"soak":${n},${text.slice(1)}`
  try {
    // What the store updater does, so that reads find real values.
    const { type: _t, ...rest } = JSON.parse(text) as { type: string }
    await publisher.set(type, JSON.stringify(rest))
    receivers.set(n, await publisher.publish(CHANNEL, message))
  } catch {
    // Redis down: never published.
    rejected++
  }
}

const startedAt = Date.now()
const endAt = startedAt + SECONDS * 1000
const startMinute = 12 * 60 + 50
const minutesPerMs = (24 * 60) / (DAY_SECONDS * 1000)
let simulated = 0
let stopping = false

const traffic = (async () => {
  for (const p of PUBLISHERS) await publish(`${p.type}-Server.json`, `${p.type}-Server`)
  while (!stopping) {
    const now = (Date.now() - startedAt) * minutesPerMs
    for (const due of publishesBetween(startMinute, simulated, now)) await publish(due.file, due.type)
    simulated = now
    await sleep(100)
  }
})()

// ---- reads and probes through the faults -----------------------------------------------

const reads = { ok: 0, unavailable: 0, other: 0, slowest: 0 }
const readiness = { ready: 0, notReady: 0 }
const readers = (async () => {
  while (!stopping) {
    const key = await get('/key/Environment')
    if (key.status === 200) reads.ok++
    else if (key.status === 503) reads.unavailable++
    else reads.other++
    reads.slowest = Math.max(reads.slowest, key.ms)
    const ready = await get('/ready')
    if (ready.status === 200) readiness.ready++
    else readiness.notReady++
    await sleep(250)
  }
})()

// ---- restarts at random intervals -------------------------------------------------------

const downtimes: number[] = []
const restarts = (async () => {
  for (;;) {
    const wait = between(RESTART_MIN_S, RESTART_MAX_S) * 1000
    if (Date.now() + wait + MAX_DOWN_MS >= endAt) break
    await sleep(wait)
    const down = Math.round(between(100, MAX_DOWN_MS))
    await killRedis()
    await sleep(down)
    await startRedis()
    downtimes.push(down)
    say(
      `soak: Redis restarted after ${down} ms down (${downtimes.length} so far, ${Math.round((Date.now() - startedAt) / 1000)} s in)`,
    )
  }
})()

const progress = setInterval(() => {
  say(`soak: ${Math.round((Date.now() - startedAt) / 1000)} s, ${receivers.size} published`)
}, 30000)
while (Date.now() < endAt && serviceExit === undefined) await sleep(200)
clearInterval(progress)
stopping = true
await Promise.all([traffic, readers, restarts])

// Let the last messages arrive before counting.
const subscribed = [...receivers].filter(([, r]) => r > 0).map(([n]) => n)
for (let i = 0; i < 50 && !subscribed.every((n) => clients.every((c) => c.seen.has(n))); i++) await sleep(100)
const rssEnd = serviceRss()

// ---- the figures --------------------------------------------------------------------------

const published = receivers.size
const duringOutages = published - subscribed.length
const deliveredToAll = [...receivers.keys()].filter((n) => clients.every((c) => c.seen.has(n))).length
// A client that fell behind gets only the newest value of each type (the service coalesces
// while its socket is full): a message it missed is superseded when it got a later one of
// the same type, and lost otherwise.
const newestSeen = clients.map((c) => {
  const newest = new Map<string, number>()
  for (const n of c.seen.keys()) {
    const type = typeOf.get(n) ?? ''
    newest.set(type, Math.max(newest.get(type) ?? -1, n))
  }
  return newest
})
const reached = (i: number, n: number) =>
  (clients[i] as Client).seen.has(n) ||
  ((newestSeen[i] as Map<string, number>).get(typeOf.get(n) ?? '') ?? -1) > n
const lostWhileSubscribed = subscribed.filter((n) => !clients.every((_, i) => reached(i, n))).length
const superseded = subscribed.filter((n) => clients.some((c, i) => !c.seen.has(n) && reached(i, n))).length
let duplicated = 0
for (const c of clients) for (const count of c.seen.values()) duplicated += count - 1
const disconnects = clients.reduce((sum, c) => sum + c.disconnects, 0)
const mib = (bytes: number | undefined) =>
  bytes === undefined ? 'n/a' : `${(bytes / 1048576).toFixed(1)} MiB`

for (const c of clients) c.close()
publisher.disconnect()
// Set before the soak stops it: an exit here is a crash.
const crashed = serviceExit
const serviceCrashed = crashed !== undefined
if (!serviceCrashed) {
  service.kill('SIGTERM')
  await once(service, 'exit')
}
await killRedis()

const row = (label: string, value: string | number) => say(`  ${label.padEnd(36)}${value}`)
say('')
say(
  `soak: ${SECONDS} s, ${CLIENTS} SSE clients, ${downtimes.length} Redis restarts (${downtimes.join(', ')} ms down)`,
)
row('published (PUBLISH accepted)', published)
row('  while subscribed', subscribed.length)
row('  during outages (0 receivers)', duringOutages)
row('rejected while Redis was down', rejected)
row('delivered to every client', deliveredToAll)
row('lost during outages', duringOutages)
row('superseded for a slow client', superseded)
row('lost while subscribed (must be 0)', lostWhileSubscribed)
row('duplicated (must be 0)', duplicated)
row('SSE client disconnects', disconnects)
row(
  'GET /key/Environment',
  `200: ${reads.ok}, 503: ${reads.unavailable}, other: ${reads.other}, slowest ${reads.slowest} ms`,
)
row('GET /ready', `200: ${readiness.ready}, 503: ${readiness.notReady}`)
row('service memory (RSS)', `start ${mib(rssStart)}, end ${mib(rssEnd)}`)
const figures = {
  seconds: SECONDS,
  clients: CLIENTS,
  restarts: downtimes.length,
  downtimeMs: downtimes,
  published,
  publishedWhileSubscribed: subscribed.length,
  publishedDuringOutages: duringOutages,
  rejectedWhileRedisDown: rejected,
  deliveredToEveryClient: deliveredToAll,
  lostDuringOutages: duringOutages,
  supersededForSlowClients: superseded,
  lostWhileSubscribed,
  duplicated,
  clientDisconnects: disconnects,
  reads,
  readiness,
  rssStartBytes: rssStart ?? null,
  rssEndBytes: rssEnd ?? null,
  serviceCrashed: crashed ?? null,
}
say(`SOAK_RESULT ${JSON.stringify(figures)}`)

const ok =
  !serviceCrashed &&
  lostWhileSubscribed === 0 &&
  duplicated === 0 &&
  disconnects === 0 &&
  reads.other === 0 &&
  reads.slowest <= 2000
if (!ok) say(`soak: FAILED${serviceCrashed ? ` (the service exited: ${crashed})` : ''}`)
process.exit(ok ? 0 : 1)
