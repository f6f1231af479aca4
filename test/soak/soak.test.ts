import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { repoRoot } from '../helpers/server-process.js'

const entry = join(repoRoot, 'dist', 'soak', 'soak.js')

t.test('a short soak: restarts, no duplicate, nothing lost while subscribed, exit 0', async (t) => {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" (npm test does it first)`)
  const child = spawn(process.execPath, [entry], {
    env: {
      PATH: process.env.PATH ?? '',
      SOAK_SECONDS: '9',
      SOAK_CLIENTS: '4',
      SOAK_RESTART_MIN_SECONDS: '2',
      SOAK_RESTART_MAX_SECONDS: '3',
      SOAK_MAX_DOWN_MS: '500',
      // Ten times the demo's pace, so a few seconds carry some hundreds of messages.
      SOAK_DAY_SECONDS: '24',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => child.kill('SIGKILL'))
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) t.comment(output)
  t.equal(code, 0, 'the soak passed')
  const line = /^SOAK_RESULT (.*)$/m.exec(output)?.[1]
  const figures = JSON.parse(line ?? '{}') as Record<string, unknown>
  t.ok((figures.restarts as number) >= 1, `restarted ${figures.restarts} times`)
  t.ok((figures.published as number) > 100, `${figures.published} published`)
  t.equal(figures.lostWhileSubscribed, 0)
  t.equal(figures.duplicated, 0)
  t.equal(figures.clientDisconnects, 0)
  t.equal(figures.serviceCrashed, null)
  // Each one reached every client, or was superseded by a newer value of its type for a
  // client that fell behind (the service coalesces then).
  t.equal(
    (figures.deliveredToEveryClient as number) + (figures.supersededForSlowClients as number),
    figures.publishedWhileSubscribed,
    'every message published while subscribed reached every client, or a newer one of its type did',
  )
  t.equal((figures.reads as { other: number }).other, 0, 'reads were 200 or 503 only')
})
