import { spawn } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { fixture, storedForm } from '../helpers/fixtures.js'
import { freePort, RedisServer } from '../helpers/redis-server.js'
import { repoRoot } from '../helpers/server-process.js'
import { openEvents, updateEvent } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

const demoEntry = join(repoRoot, 'dist', 'demo', 'demo.js')

/** `group`: in a process group of its own, as a shell runs a foreground job, so that a test can Ctrl-C the whole group. */
function runDemo(env: Record<string, string>, { group = false } = {}) {
  const child = spawn(process.execPath, [demoEntry], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: group,
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString()
  })
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

t.test(
  'the demo serves the fixtures, streams the replay, relays commands, and Ctrl-C stops it all',
  async (t) => {
    const port = await freePort()
    const demo = runDemo({ PORT: String(port), DEMO_DAY_SECONDS: '30' })
    t.teardown(() => demo.child.kill('SIGKILL'))
    await waitFor(() => demo.stdout().includes('Ctrl-C'), 'the demo banner', { timeoutMs: 15000 })
    const base = `http://127.0.0.1:${port}`
    t.match(demo.stdout(), `curl -N ${base}/events`)
    const redisPort = Number(/Redis at redis:\/\/127\.0\.0\.1:(\d+)\/0/.exec(demo.stdout())?.[1])

    const env = await (await fetch(`${base}/key/Environment`)).json()
    const expected = Object.fromEntries(
      ['AQI', 'Moon', 'Weather'].map((type) => [type, JSON.parse(storedForm(fixture(`${type}.json`)).value)]),
    )
    t.same(env, expected)

    const client = await openEvents(base)
    t.teardown(() => client.close())
    const nfl = updateEvent(fixture('NFL.json'))
    await client.waitFor((text) => text.includes(nfl), 'an NFL update with the exact fixture bytes')
    const put = await fetch(`${base}/webcontrol/pp`, { method: 'PUT' })
    t.equal(put.status, 202)
    await client.waitFor(
      (text) => text.includes(updateEvent('{"type":"webcontrol","command":"pp"}')),
      'the command',
    )

    demo.child.kill('SIGINT')
    t.equal(await demo.exited, 0)
    // The Redis it started is gone.
    const probe = await RedisServer.probe(redisPort)
    t.equal(probe, false)
  },
)

t.test(
  'Ctrl-C at a terminal (SIGINT to the whole group): the service shuts down gracefully, once',
  async (t) => {
    const port = await freePort()
    const demo = runDemo({ PORT: String(port), DEMO_DAY_SECONDS: '30', LOG_LEVEL: 'info' }, { group: true })
    t.teardown(() => demo.child.kill('SIGKILL'))
    await waitFor(() => demo.stdout().includes('Ctrl-C'), 'the demo banner', { timeoutMs: 15000 })
    const client = await openEvents(`http://127.0.0.1:${port}`)
    t.teardown(() => client.close())
    process.kill(-(demo.child.pid as number), 'SIGINT')
    t.equal(await demo.exited, 0)
    const output = demo.stdout() + demo.stderr()
    // One signal reached the service: a second one makes close-with-grace exit at once.
    t.notMatch(output, /second SIG/)
    t.equal((output.match(/"msg":"shutting down"/g) ?? []).length, 1)
  },
)

t.test('without redis-server the demo says so in one line', async (t) => {
  const demo = runDemo({ PATH: '/nonexistent', PORT: String(await freePort()) })
  t.equal(await demo.exited, 1)
  t.equal(
    demo.stderr(),
    'demo: redis-server is not installed: install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) or set REDIS_URL\n',
  )
})

t.test('with an unreachable REDIS_URL the demo says so in one line', async (t) => {
  const port = await freePort()
  const demo = runDemo({ REDIS_URL: `redis://127.0.0.1:${port}/0`, PORT: String(await freePort()) })
  t.equal(await demo.exited, 1)
  t.equal(
    demo.stderr(),
    `demo: cannot reach Redis at redis://127.0.0.1:${port}/0: start it, or unset REDIS_URL to let the demo start one\n`,
  )
})
