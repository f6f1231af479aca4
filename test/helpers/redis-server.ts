/** A real redis-server on a free loopback port, started and stopped by the test that needs it. */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { Redis, type RedisOptions } from 'ioredis'
import { freePort } from '../../bench/free-port.js'
import { waitFor } from './wait.js'

export { freePort }

/** What a test may add to a plain loopback redis-server (all optional: the default is unchanged). */
export interface RedisServerOptions {
  /** A config file, read first (Sentinel needs one it can rewrite). */
  configFile?: string
  /** Run as a Sentinel (`redis-server <configFile> --sentinel`). */
  sentinel?: boolean
  /** More redis-server arguments, after the defaults (later ones win). */
  args?: string[]
  /** Serve TLS only, on `port`, with these PEM file paths; `authClients` asks for a client certificate. */
  tls?: { certFile: string; keyFile: string; caFile: string; authClients: boolean }
  /** Options of the test's own clients and of the readiness probe (TLS material, the admin password). */
  clientOptions?: RedisOptions
}

export class RedisServer {
  #process: ChildProcess | undefined
  #stopped: Promise<void> | undefined
  readonly port: number
  readonly options: RedisServerOptions

  private constructor(port: number, options: RedisServerOptions) {
    this.port = port
    this.options = options
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    return RedisServer.startOn(await freePort(), options)
  }

  /** On a port the test chose (a Sentinel's config file names its own port). */
  static async startOn(port: number, options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(port, options)
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
    const client = new Redis(this.port, '127.0.0.1', {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      ...this.options.clientOptions,
    })
    client.on('error', () => {})
    return client
  }

  async launch(): Promise<void> {
    const { configFile, sentinel, args = [], tls } = this.options
    const listen = tls
      ? [
          '--port',
          '0',
          '--tls-port',
          String(this.port),
          '--tls-cert-file',
          tls.certFile,
          '--tls-key-file',
          tls.keyFile,
          '--tls-ca-cert-file',
          tls.caFile,
          '--tls-auth-clients',
          tls.authClients ? 'yes' : 'no',
        ]
      : ['--port', String(this.port)]
    const child = spawn(
      'redis-server',
      [
        ...(configFile === undefined ? [] : [configFile]),
        ...(sentinel ? ['--sentinel'] : []),
        ...listen,
        '--bind',
        '127.0.0.1',
        ...(sentinel ? [] : ['--save', '', '--appendonly', 'no']),
        '--protected-mode',
        'no',
        ...args,
      ],
      { stdio: 'ignore' },
    )
    this.#process = child
    this.#stopped = once(child, 'exit').then(() => {})
    child.on('error', () => {})
    await waitFor(async () => this.answers(), `redis-server on port ${this.port}`)
  }

  private answers(): Promise<boolean> {
    return RedisServer.probe(this.port, this.options.clientOptions)
  }

  /** True when a Redis on this loopback port answers PING. */
  static async probe(port: number, clientOptions: RedisOptions = {}): Promise<boolean> {
    const probe = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      ...clientOptions,
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
    const exited = this.#stopped
    // A frozen process would keep a SIGTERM pending: let it run to hear it.
    child.kill(signal)
    if (signal !== 'SIGKILL') child.kill('SIGCONT')
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
