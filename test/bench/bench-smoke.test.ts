/**
 * The bench's building blocks at a tiny scale, against the real built service and the floor:
 * exact delivered counts only, never a timing (the full figures come from `npm run bench`).
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { ClientPool } from '../../bench/client-pool.js'
import { fixture, storedForm } from '../../bench/fixtures.js'
import { REPO_ROOT } from '../../bench/paths.js'
import { Target, type TargetKind } from '../../bench/processes.js'
import { type BenchContext, connectClients, fanout, getLoad, webcontrol } from '../../bench/scenarios.js'
import { RedisServer } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait.js'

const CLIENTS = 20
const MESSAGES = 5
const PUTS = 3
const WORKERS = 2

// The bench runs the built service, floor and client worker: build them as `npm run bench` does.
execFileSync(
  process.execPath,
  [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
  {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  },
)

t.test('bench building blocks', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const publisher = redis.client()
  t.teardown(() => publisher.disconnect())
  for (const name of ['Weather.json', 'AQI.json', 'Moon.json']) {
    const { type, value } = storedForm(fixture(name))
    await publisher.set(type, value)
  }
  const pool = ClientPool.start(WORKERS)
  t.teardown(() => pool.stop())
  const ctx: BenchContext = { pool, publisher, channel: 'update', log: () => {}, quiet: async () => {} }

  for (const kind of ['service', 'floor'] satisfies TargetKind[]) {
    await t.test(kind, async (t) => {
      const target = await Target.start(kind, { redisUrl: redis.url, heartbeatMs: 100 })
      t.teardown(() => target.stop())

      const get = await getLoad(target, '/key/Weather', 1, 2)
      t.equal(get.errors, 0, 'GET: no errors')
      t.equal(get.non2xx, 0, 'GET: only 2xx')
      t.ok(get.latencies.length > 0, 'GET: some responses')

      const conn = await connectClients(ctx, target, CLIENTS)
      t.equal(conn.connected, CLIENTS, 'every client connected')
      t.equal(conn.failed, 0, 'no client failed')

      const fan = await fanout(ctx, target, CLIENTS, MESSAGES, 50)
      t.equal(fan.delivered, CLIENTS * MESSAGES, 'every message reached every client')
      t.equal(fan.lost, 0)
      t.equal(fan.unknown, 0, 'no event of unexpected length')
      t.equal(fan.outOfOrder, 0, 'Weather and NFL alternate as published')
      t.equal(fan.checked, WORKERS * MESSAGES, 'one client per worker compared every byte')
      t.equal(fan.mismatches, 0, 'the data bytes are the fixture bytes')
      t.equal(fan.latencyMs.count, CLIENTS * MESSAGES, 'a latency for every delivery')

      const wc = await webcontrol(ctx, target, CLIENTS, PUTS, 50)
      t.equal(wc.accepted, PUTS, 'every PUT answered 202')
      t.equal(wc.delivered, CLIENTS * PUTS, 'every command reached every client')
      t.equal(wc.latencyMs.count, CLIENTS * PUTS)

      // The shared heartbeat timer (100 ms here) reaches every client.
      await pool.phase([], [], 0)
      await waitFor(async () => (await pool.stats()).minHeartbeats >= 2, 'two heartbeats on every client')
      const stats = await pool.stats()
      t.equal(stats.dropped, 0, 'no stream ended')
      t.equal(stats.errors, 0, 'no socket error')
      t.equal(stats.unknown, 0)

      await pool.closeAll()
      t.equal((await pool.stats()).clients, 0, 'every client closed')
    })
  }
})
