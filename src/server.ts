/** The process: load config, create the instance and logger, listen, shut down gracefully. */
import closeWithGrace from 'close-with-grace'
import Fastify from 'fastify'
import app, { instanceOptions } from './app.js'
import { type Config, ConfigError, loadConfig } from './config.js'

let config: Config
try {
  config = loadConfig()
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  // No logger exists yet: one line, no stack trace, the variable named.
  process.stderr.write(`live-state-api: invalid configuration: ${err.message}\n`)
  process.exit(1)
}

const server = Fastify({
  ...instanceOptions(),
  logger: {
    level: config.logLevel,
    // Pretty for a person at a terminal; JSON lines for log collectors.
    ...(process.stdout.isTTY
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss' } } }
      : {}),
  },
})

await server.register(app, { config })

closeWithGrace({ delay: config.shutdownTimeoutMs, logger: server.log }, async ({ signal, err }) => {
  if (err) server.log.error({ err }, 'closing after an error')
  else server.log.info({ signal }, 'shutting down')
  await server.close()
})

try {
  await server.listen({ port: config.port, host: config.host })
} catch (err) {
  server.log.fatal({ err }, 'cannot listen')
  process.exit(1)
}
