/** The command connection to Redis (GET and friends), with bounded timeouts and its health for /ready. */

import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { type CommandConnection, createRedis } from '../lib/redis-connection.js'
import { closeRedis, watchConnection } from '../lib/redis-lifecycle.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The command connection. Never subscribed, so GET always works on it. A Cluster
     * client in Cluster mode, routing each key to its node.
     */
    redis: CommandConnection
  }
}

export interface RedisPluginOptions {
  config: Config
}

/*
 * Why not @fastify/redis: its registration waits for the connection's 'ready' event, so
 * with Redis down the app cannot boot at all (plugin timeout), while the contract wants
 * /live answering and /ready saying 503 until Redis comes back. This plugin decorates
 * the same `fastify.redis` and connects in the background.
 */
export default fp<RedisPluginOptions>(
  async (fastify, { config }) => {
    const client = createRedis(config, 'command')
    watchConnection(client, fastify.log.child({ redis: 'command' }))
    fastify.metrics.watchRedis(client, 'command')
    fastify.decorate<CommandConnection>('redis', client)
    // Connect in the background: failures are logged by the watcher and retried forever.
    client.connect().catch(() => {})
    fastify.addHook('onClose', async () => closeRedis(client))
  },
  { name: 'redis', fastify: '5.x', dependencies: ['metrics'] },
)
