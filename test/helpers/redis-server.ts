/** A real redis-server on a free loopback port, started and stopped by the test that needs it. */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import { waitFor } from './wait.js'

export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

export class RedisServer {
  #process: ChildProcess | undefined
  readonly port: number

  private constructor(port: number) {
    this.port = port
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort())
    await server.launch()
    return server
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`
  }

  get pid(): number | undefined {
    return this.#process?.pid
  }

  /** A plain client for the test's own commands (SET, PUBLISH, CLIENT KILL…). */
  client(): Redis {
    const client = new Redis(this.port, '127.0.0.1', { lazyConnect: false, maxRetriesPerRequest: 1 })
    client.on('error', () => {})
    return client
  }

  async launch(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
      ],
      { stdio: 'ignore' },
    )
    this.#process = child
    child.on('error', () => {})
    await waitFor(async () => this.answers(), `redis-server on port ${this.port}`)
  }

  private answers(): Promise<boolean> {
    return RedisServer.probe(this.port)
  }

  /** True when a Redis on this loopback port answers PING. */
  static async probe(port: number): Promise<boolean> {
    const probe = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    })
    probe.on('error', () => {})
    try {
      await probe.connect()
      return (await probe.ping()) === 'PONG'
    } catch {
      return false
    } finally {
      probe.disconnect()
    }
  }

  /** Stops the server (SIGKILL: like a crash, nothing saved) and waits for it to be gone. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#process
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill(signal)
    await exited
    this.#process = undefined
  }

  async restart(): Promise<void> {
    await this.stop()
    await this.launch()
  }

  freeze(): void {
    this.#process?.kill('SIGSTOP')
  }

  resume(): void {
    this.#process?.kill('SIGCONT')
  }
}
