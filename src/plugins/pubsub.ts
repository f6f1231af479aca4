/** The fan-out hub: the process's one subscriber connection, the event log, and every SSE client's stream. */
import { isUtf8 } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { ClientStream, type EndReason, type StreamEvent } from '../lib/client-stream.js'
import { parseEventId } from '../lib/event-id.js'
import { createRedis } from '../lib/redis-connection.js'
import { closeRedis, watchConnection } from '../lib/redis-lifecycle.js'
import { type LoggedEvent, ReplayBuffer } from '../lib/replay-buffer.js'
import { readStoredMessages } from '../lib/snapshot.js'
import { frameUpdate, HEARTBEAT } from '../lib/sse.js'

export const COMMAND_TYPE = 'webcontrol'

export interface SubscribeOptions {
  /** Only these types (heartbeats always pass); undefined for everything. */
  filter?: ReadonlySet<string> | undefined
  /** Hears why the stream ended: the client left, was too slow, or shutdown. */
  onEnd?: (reason: EndReason) => void
}

export interface Hub {
  /** This process's stream identity: the first part of every event id. */
  readonly epoch: string
  /** The id of the last event given out (`<epoch>-0` before the first). */
  readonly lastId: string
  /** A new client stream; events emitted from now on are queued for it. */
  subscribe(options?: SubscribeOptions): ClientStream
  /** The held frames after `lastEventId`, filtered; undefined when they cannot all be replayed. */
  replay(lastEventId: string, filter?: ReadonlySet<string>): Buffer[] | undefined
  /** The stored message of every known type, framed with `id`; [] when Redis cannot answer. */
  snapshot(id: string, filter?: ReadonlySet<string>): Promise<Buffer[]>
  /** Sends a web-control command to the clients of every replica (or of this one when Redis is down). */
  sendCommand(command: string): Promise<'published' | 'local'>
  /** Types a snapshot covers: the configured ones and every one seen on the channel. */
  readonly knownTypes: readonly string[]
  readonly size: number
  /** True while the subscriber connection is subscribed to both channels. */
  readonly subscriberReady: boolean
  /** True once the stored values have been read since the last (re)subscription: gaps are healed. */
  readonly storeSynced: boolean
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

/** Parses a channel message once; returns it with its type, or why it is not forwarded. */
export function checkMessage(
  message: Buffer,
): { type: string; parsed: Record<string, unknown> } | { reason: string } {
  // A display client decodes every data line as UTF-8 JSON and chokes otherwise.
  if (!isUtf8(message)) return { reason: 'not valid UTF-8' }
  let parsed: unknown
  try {
    parsed = JSON.parse(message.toString('utf8'))
  } catch {
    return { reason: 'not JSON' }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { reason: 'not a JSON object' }
  const type = (parsed as { type?: unknown }).type
  if (typeof type !== 'string') return { reason: 'no string "type"' }
  return { type, parsed: parsed as Record<string, unknown> }
}

/** Seen types are remembered for snapshots, up to this many (garbage types cannot grow it forever). */
const MAX_KNOWN_TYPES = 1000
/** The store updater writes just after it publishes: read the stored value a little later. */
const BASELINE_DELAY_MS = 500
const RETRY_MS = 250

export default fp<PubsubPluginOptions>(
  async (fastify, { config }) => {
    const log = fastify.log.child({ redis: 'subscriber' })
    const { metrics } = fastify
    const clients = new Set<ClientStream>()
    const epoch = Date.now().toString(36) + randomBytes(3).toString('hex')
    const buffer = new ReplayBuffer(config.replayMaxEvents, config.replayMaxBytes)
    const known = new Set(config.snapshotTypes)
    const commands = new Map(
      config.webcontrolCommands.map((command) => [
        command,
        Buffer.from(JSON.stringify({ type: COMMAND_TYPE, command })),
      ]),
    )
    let seq = 0
    let subscriberReady = false
    let everSubscribed = false
    let storeSynced = false
    let closing = false

    /** Gives the event the next id, keeps it for replay, and hands the same bytes to every client. */
    const emit = (type: string, payload: Buffer, coalesce: boolean): void => {
      seq++
      const event: LoggedEvent = {
        seq,
        at: Date.now(),
        type,
        coalesce,
        frame: frameUpdate(`${epoch}-${seq}`, payload),
        receivedAt: performance.now(),
      }
      buffer.append(event)
      metrics.beginBroadcast()
      let sent = 0
      for (const client of clients) if (client.push(event)) sent++
      metrics.endBroadcast(event, sent)
    }

    // --- Gap healing: what changed in the store while the subscription was down -------------
    // `baseline` holds each type's stored JSON as last read. After a live message the
    // stored value is re-read shortly (the store updater writes after publishing); after a
    // reconnect every known type is read and those that differ are sent as updates.
    const baseline = new Map<string, string>()
    const refreshTimers = new Map<string, NodeJS.Timeout>()
    let healing: Set<string> | undefined

    const readBaseline = async (types: string[]) => {
      const messages = await readStoredMessages(fastify.redis, config.keyPrefix, types)
      const present = new Set(messages.map((m) => m.type))
      for (const type of types) if (!present.has(type)) baseline.delete(type)
      return messages
    }

    const refreshSoon = (type: string) => {
      if (refreshTimers.has(type)) return
      const timer = setTimeout(() => {
        refreshTimers.delete(type)
        readBaseline([type]).then(
          ([message]) => message !== undefined && baseline.set(type, message.stored),
          () => {},
        )
      }, BASELINE_DELAY_MS)
      timer.unref()
      refreshTimers.set(type, timer)
    }

    /** Retries `attempt` while subscribed, until it succeeds (Redis may still be coming back). */
    const whileSubscribed = async (what: string, attempt: () => Promise<void>) => {
      for (let tries = 1; subscriberReady && !closing; tries++) {
        try {
          await attempt()
          return
        } catch (err) {
          if (tries === 1) log.warn({ err }, `${what} failed; retrying`)
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref())
        }
      }
    }

    const syncBaseline = async () => {
      for (const message of await readBaseline([...known])) baseline.set(message.type, message.stored)
      storeSynced = true
    }

    const heal = () =>
      whileSubscribed('healing the gap', async () => {
        healing = new Set()
        try {
          const messages = await readBaseline([...known])
          const changed: string[] = []
          for (const message of messages) {
            // A live message that arrived meanwhile is newer than what was read.
            if (healing.has(message.type) || baseline.get(message.type) === message.stored) continue
            baseline.set(message.type, message.stored)
            changed.push(message.type)
            emit(message.type, message.payload, true)
          }
          storeSynced = true
          log.info({ changed }, 'subscription restored; sent what changed during the gap')
        } finally {
          healing = undefined
        }
      })

    // --- The subscriber connection ------------------------------------------------------------
    const subscriber = createRedis(config, 'subscriber')
    watchConnection(subscriber, log)
    metrics.watchRedis(subscriber, 'subscriber')
    // Subscribe once per connection, on each 'ready'. ioredis' autoResubscribe is off, and
    // a SUBSCRIBE lost with its connection is not resent, so there is never a second one.
    subscriber.on('ready', () => {
      subscriber.subscribe(config.updateChannel, config.controlChannel).then(
        () => {
          subscriberReady = true
          log.info({ channels: [config.updateChannel, config.controlChannel] }, 'subscribed')
          if (everSubscribed) void heal()
          else void whileSubscribed('reading the stored values', syncBaseline)
          everSubscribed = true
        },
        (err: unknown) => log.warn({ err }, 'SUBSCRIBE failed; retrying on reconnect'),
      )
    })
    subscriber.on('close', () => {
      if (subscriberReady) log.warn('subscription lost; reconnecting')
      subscriberReady = false
      storeSynced = false
    })
    // 'messageBuffer' gives the published bytes untouched: 'message' would decode them and
    // replace invalid UTF-8 silently.
    subscriber.on('messageBuffer', (channelBytes: Buffer, message: Buffer) => {
      const channel = channelBytes.toString()
      if (channel === config.controlChannel) {
        const checked = checkMessage(message)
        const command =
          'type' in checked && checked.type === COMMAND_TYPE ? checked.parsed.command : undefined
        const payload = typeof command === 'string' ? commands.get(command) : undefined
        if (payload === undefined) {
          metrics.rejected('unknown command')
          log.warn({ channel, head: message.subarray(0, 80).toString() }, 'unknown command dropped')
        } else {
          metrics.received(COMMAND_TYPE)
          emit(COMMAND_TYPE, payload, false)
        }
        return
      }
      if (channel !== config.updateChannel) return
      const checked = checkMessage(message)
      if ('reason' in checked) {
        metrics.rejected(checked.reason)
        const head = message.subarray(0, 80).toString()
        log.warn({ channel, reason: checked.reason, bytes: message.length, head }, 'message dropped')
        return
      }
      const { type } = checked
      metrics.received(type)
      if (!known.has(type) && known.size < MAX_KNOWN_TYPES) known.add(type)
      healing?.add(type)
      refreshSoon(type)
      // Parsed and framed once; every client gets the same Buffer.
      emit(type, message, true)
    })
    subscriber.connect().catch(() => {})

    // One timer for all clients: a per-client timer costs memory and wake-ups at scale.
    const heartbeatEvent: StreamEvent = { type: undefined, frame: HEARTBEAT, coalesce: true }
    const heartbeat = setInterval(() => {
      for (const client of clients) client.push(heartbeatEvent)
    }, config.heartbeatMs)
    heartbeat.unref()

    const accepts = (filter: ReadonlySet<string> | undefined, type: string | undefined) =>
      filter === undefined || type === undefined || filter.has(type)

    const hub: Hub = {
      epoch,
      get lastId() {
        return `${epoch}-${seq}`
      },
      subscribe({ filter, onEnd } = {}) {
        const stream = new ClientStream({
          maxBytes: config.clientMaxBufferBytes,
          filter,
          tally: metrics.tally,
          writeBudget: config.clientWriteBudgetBytes,
          onEnd: (reason) => {
            clients.delete(stream)
            onEnd?.(reason)
          },
        })
        if (closing) stream.end('shutdown')
        else clients.add(stream)
        return stream
      },
      replay(lastEventId, filter) {
        const id = parseEventId(lastEventId)
        if (id === undefined || id.epoch !== epoch) return undefined
        const events = buffer.after(id.seq, seq)
        if (events === undefined) return undefined
        // A command is a moment's intent: after its TTL, replaying it would surprise.
        const oldestCommand = Date.now() - config.commandReplayTtlMs
        return events
          .filter((e) => accepts(filter, e.type) && (e.coalesce || e.at >= oldestCommand))
          .map((e) => e.frame)
      },
      async snapshot(id, filter) {
        const types = [...known].filter((type) => accepts(filter, type))
        try {
          const messages = await readStoredMessages(fastify.redis, config.keyPrefix, types)
          return messages.map((m) => frameUpdate(id, m.payload))
        } catch (err) {
          fastify.log.warn({ err }, 'snapshot unavailable: Redis cannot answer')
          return []
        }
      },
      async sendCommand(command) {
        const payload = commands.get(command)
        if (payload === undefined) throw new Error(`unknown command ${command}`)
        try {
          // Every replica, this one included, hears it on the control channel exactly once.
          await fastify.redis.publish(config.controlChannel, payload)
          if (!subscriberReady) emit(COMMAND_TYPE, payload, false)
          return 'published'
        } catch (err) {
          fastify.log.warn({ err, command }, 'Redis unavailable: command sent to this replica only')
          emit(COMMAND_TYPE, payload, false)
          return 'local'
        }
      },
      get knownTypes() {
        return [...known]
      },
      get size() {
        return clients.size
      },
      get subscriberReady() {
        return subscriberReady
      },
      get storeSynced() {
        return storeSynced
      },
      get closing() {
        return closing
      },
    }
    fastify.decorate('hub', hub)

    fastify.addHook('preClose', async () => {
      closing = true
      for (const client of clients) client.end('shutdown')
    })
    fastify.addHook('onClose', async () => {
      clearInterval(heartbeat)
      for (const timer of refreshTimers.values()) clearTimeout(timer)
      refreshTimers.clear()
      subscriberReady = false
      await closeRedis(subscriber)
    })
  },
  { name: 'pubsub', fastify: '5.x', dependencies: ['redis', 'metrics'] },
)
