/** The fan-out hub: the process's one subscriber connection, and every SSE client's stream. */
import { isUtf8 } from 'node:buffer'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { ClientStream, type EndReason } from '../lib/client-stream.js'
import { createRedis } from '../lib/redis-connection.js'
import { closeRedis, watchConnection } from '../lib/redis-lifecycle.js'
import { frameUpdate, HEARTBEAT } from '../lib/sse.js'

export interface Hub {
  /** A new client stream; `onEnd` hears why it ended (client left, too slow, shutdown). */
  subscribe(onEnd?: (reason: EndReason) => void): ClientStream
  /** Hands the same framed bytes to every client. */
  broadcast(frame: Buffer): void
  /** Number of connected client streams. */
  readonly size: number
  /** True while the subscriber connection is subscribed to the update channel. */
  readonly subscriberReady: boolean
  /** True once shutdown has begun: no new streams are held open. */
  readonly closing: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    hub: Hub
  }
}

export interface PubsubPluginOptions {
  config: Config
}

/** Why a channel message is not forwarded, or undefined when it is a valid update. */
export function rejectReason(message: Buffer): string | undefined {
  // A display client decodes every data line as UTF-8 JSON and chokes otherwise.
  if (!isUtf8(message)) return 'not valid UTF-8'
  let parsed: unknown
  try {
    parsed = JSON.parse(message.toString('utf8'))
  } catch {
    return 'not JSON'
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'not a JSON object'
  if (typeof (parsed as { type?: unknown }).type !== 'string') return 'no string "type"'
  return undefined
}

export default fp<PubsubPluginOptions>(
  async (fastify, { config }) => {
    const log = fastify.log.child({ redis: 'subscriber' })
    const clients = new Set<ClientStream>()
    const channel = config.updateChannel
    let subscriberReady = false
    let closing = false

    const broadcast = (frame: Buffer): void => {
      for (const client of clients) client.push(frame)
    }

    const hub: Hub = {
      subscribe(onEnd) {
        const stream = new ClientStream(config.clientMaxBufferBytes, (reason) => {
          clients.delete(stream)
          onEnd?.(reason)
        })
        if (closing) stream.end('shutdown')
        else clients.add(stream)
        return stream
      },
      broadcast,
      get size() {
        return clients.size
      },
      get subscriberReady() {
        return subscriberReady
      },
      get closing() {
        return closing
      },
    }
    fastify.decorate('hub', hub)

    const subscriber = createRedis(config, 'subscriber')
    watchConnection(subscriber, log)
    // Subscribe once per connection, on each 'ready'. ioredis' autoResubscribe is off, and
    // a SUBSCRIBE lost with its connection is not resent, so there is never a second one.
    subscriber.on('ready', () => {
      subscriber.subscribe(channel).then(
        () => {
          subscriberReady = true
          log.info({ channel }, 'subscribed')
        },
        (err: unknown) => log.warn({ err, channel }, 'SUBSCRIBE failed; retrying on reconnect'),
      )
    })
    subscriber.on('close', () => {
      if (subscriberReady) log.warn({ channel }, 'subscription lost; reconnecting')
      subscriberReady = false
    })
    // 'messageBuffer' gives the published bytes untouched: 'message' would decode them and
    // replace invalid UTF-8 silently.
    subscriber.on('messageBuffer', (from: Buffer, message: Buffer) => {
      if (from.toString() !== channel) return
      const reason = rejectReason(message)
      if (reason !== undefined) {
        log.warn(
          { channel, reason, bytes: message.length, head: message.subarray(0, 80).toString() },
          'message dropped',
        )
        return
      }
      // Parsed and framed once; every client gets the same Buffer.
      broadcast(frameUpdate(message))
    })
    subscriber.connect().catch(() => {})

    // One timer for all clients: a per-client timer costs memory and wake-ups at scale.
    const heartbeat = setInterval(() => broadcast(HEARTBEAT), config.heartbeatMs)
    heartbeat.unref()

    fastify.addHook('preClose', async () => {
      closing = true
      for (const client of clients) client.end('shutdown')
    })
    fastify.addHook('onClose', async () => {
      clearInterval(heartbeat)
      subscriberReady = false
      await closeRedis(subscriber)
    })
  },
  { name: 'pubsub', fastify: '5.x' },
)
