/** build(t, redis, overrides): the app on a real Redis, closed when the test ends. */
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import app, { instanceOptions } from '../../src/app.js'
import { type Config, DEFAULTS, validateConfig } from '../../src/config.js'
import type { RedisServer } from './redis-server.js'
import { waitFor } from './wait.js'

export interface Teardown {
  teardown(fn: () => unknown): void
}

export const ORIGIN = 'http://localhost:3001'

export function testConfig(redis: Pick<RedisServer, 'url'>, overrides: Partial<Config> = {}): Config {
  // Channels of its own per app, so tests never hear each other ("update-*" for the ACL tests).
  const id = randomUUID()
  return validateConfig({
    ...DEFAULTS,
    port: 0,
    host: '127.0.0.1',
    redisUrl: redis.url,
    updateChannel: `update-${id}`,
    controlChannel: `update-${id}-control`,
    ...overrides,
  })
}

/** The app, ready, with its subscriber subscribed (unless `waitReady` is false). */
export async function build(
  t: Teardown,
  redis: Pick<RedisServer, 'url'>,
  overrides: Partial<Config> = {},
  { waitReady = true, listen = false } = {},
): Promise<FastifyInstance> {
  const config = testConfig(redis, overrides)
  const fastify = Fastify({
    ...instanceOptions(),
    logger: process.env.TEST_LOG ? { level: process.env.TEST_LOG } : false,
  })
  await fastify.register(app, { config })
  t.teardown(() => fastify.close())
  if (listen) await fastify.listen({ port: 0, host: '127.0.0.1' })
  else await fastify.ready()
  if (waitReady) {
    await waitFor(
      () => fastify.hub.subscriberReady && fastify.redis.status === 'ready',
      'the app to be ready',
    )
  }
  return fastify
}

export function baseUrl(fastify: FastifyInstance): string {
  const address = fastify.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening')
  return `http://127.0.0.1:${address.port}`
}
