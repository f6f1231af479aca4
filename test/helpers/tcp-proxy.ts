/** A loopback TCP relay in front of a Redis, able to silence one connection the way a lost network path does. */
import { once } from 'node:events'
import { createConnection, createServer, type Server, type Socket } from 'node:net'

interface Pair {
  client: Socket
  upstream: Socket
}

export class TcpProxy {
  readonly port: number
  readonly #server: Server
  readonly #live: Set<Pair>
  readonly #silenced = new Set<Pair>()

  private constructor(server: Server, port: number, live: Set<Pair>) {
    this.#server = server
    this.port = port
    this.#live = live
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const live = new Set<Pair>()
    const server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: targetPort })
      const pair = { client, upstream }
      live.add(pair)
      client.pipe(upstream)
      upstream.pipe(client)
      const drop = () => {
        // A silenced pair keeps its client side open on purpose (see silence()).
        if (!live.delete(pair)) return
        client.destroy()
        upstream.destroy()
      }
      for (const socket of [client, upstream]) {
        socket.on('error', drop)
        socket.on('close', drop)
      }
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('no port')
    return new TcpProxy(server, address.port, live)
  }

  /**
   * The connection whose upstream socket uses `localPort` (the port Redis shows in CLIENT
   * LIST) loses its path: Redis sees it close (and drops its subscription), while the
   * service's side stays open and hears nothing more, as after a network fault without
   * FIN or RST. Returns false when no such connection exists.
   */
  silence(localPort: number): boolean {
    for (const pair of this.#live) {
      if (pair.upstream.localPort !== localPort) continue
      this.#live.delete(pair)
      this.#silenced.add(pair)
      pair.client.unpipe(pair.upstream)
      pair.upstream.unpipe(pair.client)
      pair.upstream.destroy()
      // Whatever the service sends now goes nowhere.
      pair.client.on('data', () => {})
      pair.client.on('error', () => {})
      return true
    }
    return false
  }

  async close(): Promise<void> {
    for (const pair of [...this.#live, ...this.#silenced]) {
      pair.client.destroy()
      pair.upstream.destroy()
    }
    this.#server.close()
    await once(this.#server, 'close')
  }
}
