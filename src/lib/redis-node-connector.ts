/** A connector for one Redis connection that may use any of several nodes, each attempt the next one. */
import { createConnection, type Socket } from 'node:net'
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls'
import { AbstractConnector, type RedisOptions } from 'ioredis'
import type { RedisAddress } from '../config.js'

type Connector = NonNullable<RedisOptions['Connector']>

/**
 * For the Cluster subscriber. A classic PUBLISH through any node reaches the subscribers of
 * every node, so one plain connection to whichever node answers serves the subscription;
 * when that node goes away, ioredis' retry comes here and gets the next node in the list.
 * (ioredis' own Cluster subscriber re-subscribes by itself and does not say when its
 * subscription is down, which the hub needs for /ready and for subscribing exactly once.)
 */
export function rotatingConnector(
  nodes: readonly RedisAddress[],
  tls: ConnectionOptions | undefined,
): Connector {
  if (nodes.length === 0) throw new Error('rotatingConnector needs at least one node')
  let attempt = 0
  return class RotatingConnector extends AbstractConnector {
    constructor(_options: unknown) {
      // How long a closing socket may take to end before it is destroyed.
      super(2000)
    }

    connect(): Promise<Socket> {
      const node = nodes[attempt % nodes.length] as RedisAddress
      attempt++
      this.connecting = true
      return new Promise((resolve, reject) => {
        // Deferred, so that a disconnect() in the same tick cancels the attempt.
        process.nextTick(() => {
          if (!this.connecting) {
            reject(new Error('Connection is closed.'))
            return
          }
          const socket =
            tls === undefined
              ? createConnection({ host: node.host, port: node.port })
              : tlsConnect({ ...tls, host: node.host, port: node.port })
          // Kept for ioredis, which reports it if the socket fails before it listens.
          socket.once('error', (err) => {
            this.firstError = err
          })
          this.stream = socket
          resolve(socket)
        })
      })
    }
  }
}
