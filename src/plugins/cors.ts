/** CORS for the configured origins: every response to an allowed origin, streams and errors included. */
import cors from '@fastify/cors'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'

export interface CorsPluginOptions {
  config: Config
}

export default fp<CorsPluginOptions>(
  async (fastify, { config }) => {
    const allowed = new Set(config.corsOrigins)
    await fastify.register(cors, {
      // A function, not the list itself: an origin that is not allowed (or no Origin at all)
      // then gets no Access-Control-* header, only `Vary: Origin` for caches.
      origin: (origin, callback) =>
        callback(null, origin !== undefined && allowed.has(origin) ? origin : false),
      credentials: true,
      methods: ['GET', 'HEAD', 'PUT', 'OPTIONS'],
      // Headers are set in onRequest, before any handler: an SSE response writes its head
      // itself and onSend never runs for it.
      hook: 'onRequest',
      maxAge: 600,
    })
  },
  { name: 'cors', fastify: '5.x' },
)
