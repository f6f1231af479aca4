/** The service's Prometheus metrics: one registry per app, plain numbers on the hot paths. */
import type { EventEmitter } from 'node:events'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { DeliveryTally, StreamEvent } from './client-stream.js'
import { HttpMetrics } from './http-metrics.js'
import type { ConnectionRole } from './redis-connection.js'

export const PREFIX = 'live_state_api_'

/** The `type` label of every event whose type is not one of the known ones. */
export const OTHER_TYPE = 'other'

/** Why a channel message was not forwarded, as a label: checkMessage's reasons, and commands. */
export const REJECT_REASONS = {
  'not valid UTF-8': 'not_utf8',
  'not JSON': 'not_json',
  'not a JSON object': 'not_object',
  'no string "type"': 'no_type',
  'unknown command': 'unknown_command',
} as const
/** A reason not listed above (a newer check) still counts, under this label. */
const OTHER_REASON = 'other'

export type CommandDelivery = 'published' | 'local'

/** A Redis connection as far as the metrics care: ioredis' Redis and Cluster both fit. */
export type WatchedConnection = EventEmitter & { readonly status: string }

/** Seconds; the publish-to-write latency is sub-millisecond when all is well. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const EVENT_LOOP_SAMPLE_MS = 50
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** The counts kept for each `type` label. */
interface TypeCounts {
  received: number
  sent: number
  coalesced: number
  dropped: number
}

const newCounts = (): TypeCounts => ({ received: 0, sent: 0, coalesced: 0, dropped: 0 })

export interface ServiceMetricsOptions {
  /** The types that get a label of their own (the configured snapshot types and `webcontrol`); others are `other`. */
  types: readonly string[]
  /** The configured web-control commands. */
  commands: readonly string[]
  /** Open streams, read when scraped. */
  openStreams: () => number
}

/**
 * Every metric of the service, on a registry of its own, so that several apps in one
 * process (the tests) never share or collide.
 *
 * Counters touched for every event are plain numbers here; prom-client gets their totals
 * only when /metrics is scraped (each counter's `collect`). So a broadcast costs a Map
 * lookup and a few additions, and a client at most one addition, whatever the labels.
 * Every label set is known in advance, so each appears (at 0) from the start.
 */
export class ServiceMetrics {
  readonly registry = new Registry()
  /** What the client streams add to while the hub hands them one event. */
  readonly tally: DeliveryTally
  readonly #byType = new Map<string, TypeCounts>()
  readonly #other = newCounts()
  readonly #rejected = new Map<string, number>()
  readonly #commands = new Map<string, number>()
  readonly #connections = new Map<ConnectionRole, { client?: WatchedConnection; reconnects: number }>()
  #slowClients = 0
  #replays = 0
  #replayEvents = 0
  #snapshots = 0
  #snapshotEvents = 0
  readonly #latency: Histogram
  readonly #http = new HttpMetrics({
    requestsName: `${PREFIX}http_requests_total`,
    requestsHelp:
      'HTTP responses by method, route pattern and status code ("aborted": the client left before the response head), counted when the response closes: a stream when it ends; /metrics is not counted',
    durationName: `${PREFIX}http_request_duration_seconds`,
    durationHelp:
      'HTTP response time by method, route pattern and status code (not /events, whose streams last hours, nor /metrics)',
    buckets: HTTP_BUCKETS,
  })

  constructor({ types, commands, openStreams }: ServiceMetricsOptions) {
    for (const type of types) this.#byType.set(type, newCounts())
    for (const reason of [...Object.values(REJECT_REASONS), OTHER_REASON]) this.#rejected.set(reason, 0)
    for (const command of commands) {
      for (const delivery of ['published', 'local'] as const) this.#commands.set(`${command}\n${delivery}`, 0)
    }
    for (const role of ['command', 'subscriber'] as const) this.#connections.set(role, { reconnects: 0 })

    const registers = [this.registry]
    const byType = () => [...this.#byType.entries(), [OTHER_TYPE, this.#other] as const]

    new Gauge({
      name: `${PREFIX}open_streams`,
      help: 'Open /events streams',
      registers,
      collect() {
        this.set(openStreams())
      },
    })
    new Counter({
      name: `${PREFIX}events_received_total`,
      help: 'Messages taken from the Redis channels and sent on as events (valid updates, known commands), by type',
      labelNames: ['type'],
      registers,
      collect() {
        this.reset()
        for (const [type, counts] of byType()) this.inc({ type }, counts.received)
      },
    })
    new Counter({
      name: `${PREFIX}events_delivered_total`,
      help: 'Events per client, by type and outcome: sent (handed to the stream), coalesced (replaced by a newer one of its type before being written), dropped (refused by or still queued in a stream that ended)',
      labelNames: ['type', 'outcome'],
      registers,
      collect() {
        this.reset()
        for (const [type, counts] of byType()) {
          this.inc({ type, outcome: 'sent' }, counts.sent)
          this.inc({ type, outcome: 'coalesced' }, counts.coalesced)
          this.inc({ type, outcome: 'dropped' }, counts.dropped)
        }
      },
    })
    const rejected = this.#rejected
    new Counter({
      name: `${PREFIX}messages_rejected_total`,
      help: 'Channel messages not forwarded, by reason',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset()
        for (const [reason, count] of rejected) this.inc({ reason }, count)
      },
    })
    const self = this
    new Counter({
      name: `${PREFIX}slow_clients_disconnected_total`,
      help: 'Stream clients disconnected because their queue would pass CLIENT_MAX_BUFFER_BYTES',
      registers,
      collect() {
        this.reset()
        this.inc(self.#slowClients)
      },
    })
    const simple = (name: string, help: string, read: () => number) =>
      new Counter({
        name: `${PREFIX}${name}`,
        help,
        registers,
        collect() {
          this.reset()
          this.inc(read())
        },
      })
    simple('replays_total', 'Resumes (Last-Event-ID) answered from the replay buffer', () => self.#replays)
    simple('replay_events_total', 'Events sent by those replays', () => self.#replayEvents)
    simple(
      'snapshots_total',
      'Streams that began with a snapshot (?snapshot=1, or a resume the buffer could not serve)',
      () => self.#snapshots,
    )
    simple('snapshot_events_total', 'Events sent by those snapshots', () => self.#snapshotEvents)
    const connections = this.#connections
    new Gauge({
      name: `${PREFIX}redis_connection_up`,
      help: 'Whether the Redis connection is ready (1) or not (0), by role',
      labelNames: ['role'],
      registers,
      collect() {
        for (const [role, { client }] of connections) this.set({ role }, client?.status === 'ready' ? 1 : 0)
      },
    })
    new Counter({
      name: `${PREFIX}redis_reconnects_total`,
      help: 'Times the Redis connection became ready again after a loss, by role',
      labelNames: ['role'],
      registers,
      collect() {
        this.reset()
        for (const [role, { reconnects }] of connections) this.inc({ role }, reconnects)
      },
    })
    const commandCounts = this.#commands
    new Counter({
      name: `${PREFIX}webcontrol_commands_total`,
      help: 'PUT /webcontrol commands, by command and delivery (published to every replica, or local when Redis was down)',
      labelNames: ['command', 'delivery'],
      registers,
      collect() {
        this.reset()
        for (const [key, count] of commandCounts) {
          const [command = '', delivery = ''] = key.split('\n')
          this.inc({ command, delivery }, count)
        }
      },
    })
    this.#latency = new Histogram({
      name: `${PREFIX}publish_to_write_seconds`,
      help: 'From the hub receiving a message to its bytes being handed to the first client socket write; once per event that some client takes',
      buckets: LATENCY_BUCKETS,
      registers,
    })
    // The process: CPU, memory, handles, GC, and the event-loop lag (nodejs_eventloop_lag_*).
    // The lag is sampled every 50 ms, not prom-client's 10: a timer 100 times a second cost
    // about 1 % of a core in an otherwise idle process (the bench's idle target is 5 %), and
    // any stall of 50 ms or more is still seen.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })

    const latency = this.#latency
    this.tally = {
      direct: 0,
      coalesced: 0,
      refused: 0,
      firstWrite(event) {
        latency.observe((performance.now() - (event.receivedAt ?? 0)) / 1000)
        event.receivedAt = 0
      },
      discarded: (events) => {
        for (const event of events) this.#countsOf(event.type ?? OTHER_TYPE).dropped++
      },
    }
  }

  #countsOf(type: string): TypeCounts {
    return this.#byType.get(type) ?? this.#other
  }

  /** A valid message (or known command) came in from Redis. */
  received(type: string): void {
    this.#countsOf(type).received++
  }

  /** A channel message was not forwarded, for one of REJECT_REASONS' reasons. */
  rejected(reason: string): void {
    const label = (REJECT_REASONS as Record<string, string>)[reason] ?? OTHER_REASON
    this.#rejected.set(label, (this.#rejected.get(label) ?? 0) + 1)
  }

  /** Called by the hub right before it hands `event` to every stream. */
  beginBroadcast(): void {
    const tally = this.tally
    tally.direct = 0
    tally.coalesced = 0
    tally.refused = 0
  }

  /**
   * Called by the hub right after: `sent` streams took the event. O(1) per broadcast.
   *
   * The latency is observed once per event, not once per client (a histogram observation
   * per client would cost a bucket search per client per event): when a writer was
   * waiting, it writes as soon as this synchronous broadcast returns, so now is when the
   * first client's bytes go to its socket; otherwise the first stream that dequeues the
   * event observes it (ClientStream.next, one number test per event it hands out).
   */
  endBroadcast(event: StreamEvent, sent: number): void {
    const tally = this.tally
    const counts = this.#countsOf(event.type ?? OTHER_TYPE)
    counts.sent += sent
    counts.coalesced += tally.coalesced
    counts.dropped += tally.refused
    if (tally.direct > 0 && event.receivedAt) tally.firstWrite(event)
    else if (sent === 0) event.receivedAt = 0
  }

  slowClientDisconnected(): void {
    this.#slowClients++
  }

  replayServed(events: number): void {
    this.#replays++
    this.#replayEvents += events
  }

  snapshotServed(events: number): void {
    this.#snapshots++
    this.#snapshotEvents += events
  }

  /** Follows a Redis connection: its state when scraped, and each time it comes back. */
  watchRedis(client: WatchedConnection, role: ConnectionRole): void {
    const entry = this.#connections.get(role) ?? { reconnects: 0 }
    this.#connections.set(role, entry)
    entry.client = client
    let everReady = false
    client.on('ready', () => {
      if (everReady) entry.reconnects++
      everReady = true
    })
  }

  command(command: string, delivery: CommandDelivery): void {
    const key = `${command}\n${delivery}`
    this.#commands.set(key, (this.#commands.get(key) ?? 0) + 1)
  }

  /** One HTTP response; `route` is the route's URL pattern, never the raw URL. */
  httpResponse(method: string, route: string, status: string, seconds: number | undefined): void {
    this.#http.record(method, route, status, seconds)
  }

  /** The Prometheus text format: the registry's families, then the HTTP ones. */
  async text(): Promise<string> {
    return `${await this.registry.metrics()}\n${this.#http.text()}`
  }

  get contentType(): string {
    return this.registry.contentType
  }
}
