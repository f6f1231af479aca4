/** The whole application as one plugin: every plugin and route is registered here, in order. */
import sseModule, { type SSEPluginOptions } from '@fastify/sse'
import type { FastifyError, FastifyPluginAsync, FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from './config.js'
import { HttpError } from './errors.js'
import cors from './plugins/cors.js'
import methodNotAllowed from './plugins/method-not-allowed.js'
import metrics from './plugins/metrics.js'
import pubsub from './plugins/pubsub.js'
import redis from './plugins/redis.js'
import eventsRoutes from './routes/events.js'
import healthRoutes from './routes/health.js'
import keyRoutes from './routes/key.js'
import metricsRoutes from './routes/metrics.js'
import webcontrolRoutes from './routes/webcontrol.js'
import type { ErrorReply } from './schemas.js'

// @fastify/sse is CommonJS: its default import is `module.exports`, the fastify-plugin
// wrapped function, but its types describe the named export (which is not wrapped, so it
// would only see routes of its own context). Use the value, with the plugin's own type.
const sse = sseModule as unknown as FastifyPluginAsync<SSEPluginOptions>

export interface AppOptions {
  config: Config
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The validated configuration the app was built with. */
    config: Config
  }
}

/** Instance options that the app relies on; server.ts and the tests both use them. */
export function instanceOptions(): FastifyServerOptions {
  return {
    // During shutdown, keep answering: /ready says 503 and /events ends at once with a 200,
    // so a browser's EventSource reconnects elsewhere (a 503 would stop it for good).
    return503OnClosing: false,
    // Keys can be long; the default (100) would turn them into 404s.
    routerOptions: { maxParamLength: 1024 },
    // Streams are long-lived; keep-alive sockets left idle are closed on shutdown.
    forceCloseConnections: 'idle',
  }
}

const app: FastifyPluginAsync<AppOptions> = async (fastify, { config }) => {
  fastify.decorate('config', config)

  // Cross-cutting plugins: each decorates the instance or adds app-wide hooks.
  await fastify.register(cors, { config })
  await fastify.register(methodNotAllowed)
  // Before the Redis and pub/sub plugins, which report to it.
  await fastify.register(metrics, { config })
  await fastify.register(redis, { config })
  await fastify.register(pubsub, { config })
  await fastify.register(sse)

  fastify.setErrorHandler<FastifyError>((err, request, reply) => {
    if (err instanceof HttpError) {
      // One line per failed request, without a stack: an outage must not flood the logs.
      const cause = err.cause instanceof Error ? err.cause.message : undefined
      request.log.warn({ status: err.statusCode, cause, key: err.body.key }, err.message)
      return reply.code(err.statusCode).send(err.body satisfies ErrorReply)
    }
    const status =
      err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    if (status >= 500) {
      request.log.error({ err }, 'request failed')
      // 5xx bodies never leak internals.
      return reply.code(status).send({ error: 'Internal Server Error' } satisfies ErrorReply)
    }
    return reply.code(status).send({ error: err.message } satisfies ErrorReply)
  })

  fastify.setNotFoundHandler((request, reply) => {
    const allowed = fastify.allowedMethods(request.url)
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send({ error: 'Method Not Allowed' } satisfies ErrorReply)
    }
    return reply.code(404).send({ error: 'Not Found' } satisfies ErrorReply)
  })

  // Routes: the whole API surface.
  await fastify.register(keyRoutes, { config }) //        GET /key/Environment, GET /key/:key
  await fastify.register(eventsRoutes) //                 GET /events
  await fastify.register(webcontrolRoutes, { config }) // PUT /webcontrol/:command
  await fastify.register(healthRoutes) //                 GET /live, GET /ready
  await fastify.register(metricsRoutes) //                GET /metrics
}

// Not encapsulated: the server and the tests see the decorators (hub, redis) it adds.
export default fp(app, { name: 'live-state-api', fastify: '5.x' })
