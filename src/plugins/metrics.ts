/** Prometheus metrics (`fastify.metrics`): a registry per app, the hub's counts, Redis state and HTTP responses. */
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import type { DeliveryTally, StreamEvent } from '../lib/client-stream.js'
import { type CommandDelivery, ServiceMetrics, type WatchedConnection } from '../lib/metrics.js'
import type { ConnectionRole } from '../lib/redis-connection.js'
import { COMMAND_TYPE } from './pubsub.js'

/** What the app records; the names, types and labels are listed in the README (Deploy to Kubernetes, Metrics). */
export interface Metrics {
  /** Streams add to it while the hub hands them an event (ClientStream's `tally` option). */
  readonly tally: DeliveryTally
  /** A valid update or a known command came in from Redis. */
  received(type: string): void
  /** A channel message was not forwarded (checkMessage's reason, or 'unknown command'). */
  rejected(reason: string): void
  /** Around the hub's loop over its streams: O(1) each, per broadcast. */
  beginBroadcast(): void
  endBroadcast(event: StreamEvent, sent: number): void
  slowClientDisconnected(): void
  replayServed(events: number): void
  snapshotServed(events: number): void
  /** Follows a Redis connection's state and reconnects. */
  watchRedis(client: WatchedConnection, role: ConnectionRole): void
  command(command: string, delivery: CommandDelivery): void
  /** The Prometheus text format, and its content type. */
  text(): Promise<string>
  readonly contentType: string
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

export interface MetricsPluginOptions {
  config: Config
}

/** Routes whose responses are not timed: a stream's "response time" is its whole life. */
const UNTIMED_ROUTES = new Set(['/events'])
/** Requests that match no route share one label value: raw URLs would be unbounded. */
const UNMATCHED = 'unmatched'
const ABORTED = 'aborted'

export default fp<MetricsPluginOptions>(
  async (fastify, { config }) => {
    const metrics = new ServiceMetrics({
      // Bounded labels: the configured types and commands; every other type is "other".
      types: [...new Set([...config.snapshotTypes, COMMAND_TYPE])],
      commands: config.webcontrolCommands,
      // The hub registers after this plugin; by the first scrape it is there.
      openStreams: () => (fastify.hasDecorator('hub') ? fastify.hub.size : 0),
    })
    fastify.decorate('metrics', metrics satisfies Metrics)

    // Counted when the response closes, which it does once whether it finished or the client
    // left first (how most /events streams end; Fastify's onResponse misses those).
    // A callback hook, not an async one: no promise per request.
    fastify.addHook('onRequest', (request, reply, done) => {
      const route = request.routeOptions.url
      // Scrapes would count themselves.
      if (route === '/metrics') return done()
      const label = route ?? UNMATCHED
      reply.raw.on('close', () => {
        const seconds = UNTIMED_ROUTES.has(label) ? undefined : reply.elapsedTime / 1000
        // The status the client got; "aborted" when it left before the response head.
        const status = reply.raw.headersSent ? String(reply.statusCode) : ABORTED
        metrics.httpResponse(request.method, label, status, seconds)
      })
      done()
    })

    fastify.addHook('onClose', async () => metrics.registry.clear())
  },
  { name: 'metrics', fastify: '5.x' },
)
