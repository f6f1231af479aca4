/**
 * The Dockerfile's stages carried out for real in a temporary folder (there is no Docker
 * engine here): the runtime stage's COPY and RUN as written, then its CMD against a real
 * Redis, as the image's user. /ready must turn 200, and SIGTERM must end the process with
 * exit code 0 within 10 s, having written nothing in the app folder.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs'
import { chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import {
  copyPaths,
  envPairs,
  execForm,
  inContext,
  only,
  parseDockerfile,
  readRepoFile,
  type Stage,
} from '../helpers/dockerfile.js'
import { freePort, RedisServer } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/wait.js'

// npm ci of the production dependencies and a full tsc build: minutes on a slow machine.
t.setTimeout(300_000)

const run = promisify(execFile)

/*
 * tap's process tracking wraps child_process and adds its own --import to NODE_OPTIONS of
 * every child, whose exit hook then writes into this repository's .tap folder: as the
 * image's user that fails and turns exit code 0 into 1. `env` drops it, then execs the
 * command in the same process, so signals still reach it directly.
 */
function withoutTap(command: string, args: string[], env: Record<string, string> = {}): [string, string[]] {
  const pairs = Object.entries(env).map(([k, v]) => `${k}=${v}`)
  return ['env', ['-u', 'NODE_OPTIONS', ...pairs, command, ...args]]
}
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const dockerignore = readRepoFile(repoRoot, '.dockerignore')
const { stages } = parseDockerfile(readRepoFile(repoRoot, 'Dockerfile'))
const [build, runtime] = stages as [Stage, Stage]

/** Every path under `dir` (node_modules left out) with its size and modification time. */
function snapshot(dir: string, prefix = ''): string[] {
  const entries: string[] = []
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const path = join(prefix, name)
    if (path === 'node_modules') continue
    const stat = lstatSync(join(dir, path))
    entries.push(`${path} ${stat.size} ${stat.mtimeMs}`)
    if (stat.isDirectory()) entries.push(...snapshot(dir, path))
  }
  return entries
}

/** COPY from the build context: the sources must get past .dockerignore. */
function copyFromContext(stage: Stage, into: string): void {
  for (const copy of only(stage, 'COPY').filter((i) => i.flags.from === undefined)) {
    const { sources, dest } = copyPaths(copy)
    for (const source of sources) {
      if (!inContext(dockerignore, source)) throw new Error(`${source} is excluded by .dockerignore`)
      const target = dest.endsWith('/') ? join(into, dest, source) : join(into, dest)
      cpSync(join(repoRoot, source), target, { recursive: true })
    }
  }
}

t.test('the runtime stage, carried out, serves and stops cleanly on SIGTERM', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'live-state-api-image-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const buildDir = join(root, 'build')
  const appDir = join(root, 'app')

  // Build stage. `npm ci` there would install the same lockfile the repository already
  // installed, so its node_modules is linked instead; the build step itself runs as written.
  copyFromContext(build, buildDir)
  symlinkSync(join(repoRoot, 'node_modules'), join(buildDir, 'node_modules'), 'dir')
  const buildRuns = only(build, 'RUN').map((i) => i.args)
  t.same(buildRuns, ['npm ci --ignore-scripts', 'npm run build'])
  await run(...withoutTap('sh', ['-c', buildRuns[1]!]), { cwd: buildDir })
  t.equal(existsSync(join(buildDir, 'dist', 'src', 'server.js')), true, 'the build wrote dist/src/server.js')

  // Runtime stage, instruction by instruction.
  const env: Record<string, string> = {}
  for (const instruction of runtime.instructions) {
    switch (instruction.keyword) {
      case 'ENV':
        Object.assign(env, envPairs(instruction))
        break
      case 'WORKDIR':
        t.equal(instruction.args, '/app')
        break
      case 'COPY':
        if (instruction.flags.from === undefined)
          copyFromContext({ ...runtime, instructions: [instruction] }, appDir)
        else {
          const { sources, dest } = copyPaths(instruction)
          t.equal(instruction.flags.from, 'build')
          t.same(sources, ['/app/dist'])
          cpSync(join(buildDir, 'dist'), join(appDir, dest), { recursive: true })
        }
        break
      case 'RUN':
        // As written, with the stage's ENV (NODE_ENV=production) on top of this machine's.
        await run(...withoutTap('sh', ['-c', instruction.args], env), { cwd: appDir })
        break
      case 'USER':
      case 'EXPOSE':
      case 'CMD':
        break
      default:
        t.fail(`unexpected ${instruction.keyword} in the runtime stage`)
    }
  }
  t.equal(existsSync(join(appDir, 'node_modules', 'fastify', 'package.json')), true, 'fastify installed')
  t.equal(existsSync(join(appDir, 'node_modules', 'typescript')), false, 'no typescript')
  t.equal(existsSync(join(appDir, 'node_modules', 'tap')), false, 'no tap')
  t.equal(existsSync(join(appDir, 'src')), false, 'no TypeScript sources')

  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const port = await freePort()
  const [uid, gid] = (only(runtime, 'USER')[0]?.args ?? '').split(':').map(Number) as [number, number]
  // As root (CI), run as the image's user: it can read the root-owned files and write none.
  const asImageUser = process.getuid?.() === 0
  if (asImageUser) await chmod(root, 0o755)
  const before = snapshot(appDir)

  const [command, ...args] = execForm(only(runtime, 'CMD')[0]!) as [string, ...string[]]
  // `env -i`: the image's ENV and what the chart would set, nothing from this machine but PATH.
  const child: ChildProcess = spawn(
    'env',
    [
      '-i',
      `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`,
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      `PORT=${port}`,
      'HOST=127.0.0.1',
      `REDIS_URL=${redis.url}`,
      command,
      ...args,
    ],
    {
      cwd: appDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asImageUser ? { uid, gid } : {}),
    },
  )
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>

  const base = `http://127.0.0.1:${port}`
  let ready: { status: number; body: string } | undefined
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the server exited early: ${stderr}${stdout}`)
      try {
        const res = await fetch(`${base}/ready`)
        ready = { status: res.status, body: await res.text() }
        return res.status === 200
      } catch {
        return false
      }
    },
    'GET /ready to answer 200',
    { timeoutMs: 20_000, intervalMs: 50 },
  )
  t.same(ready, { status: 200, body: '{"status":"ready"}' })
  if (asImageUser) {
    // `env` exec'd node: the same pid, running as the image's user (real, effective, saved, fs).
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
    t.match(status, /^Name:\s+node$/m)
    t.match(status, new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'))
    t.match(status, new RegExp(`^Gid:\\s+${gid}\\s+${gid}\\s+${gid}\\s+${gid}$`, 'm'))
  }
  const live = await fetch(`${base}/live`)
  t.same([live.status, await live.text()], [200, '{"status":"alive"}'])

  const sentAt = Date.now()
  child.kill('SIGTERM')
  const deadline = new Promise<never>((_, reject) => {
    const timer = setTimeout(() => reject(new Error(`no exit 10 s after SIGTERM: ${stdout}`)), 10_000)
    exited.finally(() => clearTimeout(timer))
  })
  const [code, signal] = await Promise.race([exited, deadline])
  t.same({ code, signal }, { code: 0, signal: null }, `exit after ${Date.now() - sentAt} ms`, {
    stdout,
    stderr,
  })
  t.equal(stderr, '')

  // Not a TTY: JSON lines, and the shutdown names the signal.
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { msg: string; signal?: string })
  t.same(
    lines.filter((l) => l.msg === 'shutting down').map((l) => l.signal),
    ['SIGTERM'],
  )
  t.same(snapshot(appDir), before, 'nothing in the app folder changed while it ran')
})
