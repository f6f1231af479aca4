/** The real server process (`node dist/src/server.js`, built by `npm test`'s pretest step). */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './redis-server.js'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const serverEntry = join(repoRoot, 'dist', 'src', 'server.js')

export interface ServerProcess {
  child: ChildProcess
  url: string
  output(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export async function startServer(env: Record<string, string>, entry = serverEntry): Promise<ServerProcess> {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" (npm test does it first)`)
  const port = env.PORT ?? String(await freePort())
  const child = spawn(process.execPath, [entry], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, url: `http://127.0.0.1:${port}`, output: () => output, exited }
}

/** GET that never throws: the status, or 0 when the server does not answer. */
export async function statusOf(url: string): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) })
    await res.arrayBuffer()
    return res.status
  } catch {
    return 0
  }
}
