/**
 * The reference floor: the least a Node process must do to serve the same traffic, so the
 * bench can say how close the service comes to the bare-metal limit. Plain node:http, one
 * ioredis command connection and one subscriber, one shared heartbeat timer.
 *
 * Deliberately left out (each is work the service does and the floor does not):
 * - message validation (UTF-8 and JSON checks) and splitting multi-line messages: the
 *   bench's fixtures are one line, so the frames are byte-identical to the service's;
 * - re-serialising stored values: GET returns the stored bytes as they are;
 * - per-client queues, byte caps and backpressure: each frame is handed to res.write();
 * - CORS, schemas, logging, graceful shutdown.
 * Same as the service, so the comparison isolates the framework and handler cost:
 * ServerResponse writes (chunked encoding on the wire), autopipelining on the command
 * connection, the same headers and frame bytes, /ready needs both connections up.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { Redis } from 'ioredis'

const port = Number(process.env.PORT ?? 8000)
const host = process.env.HOST ?? '127.0.0.1'
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0'
const channel = process.env.UPDATE_CHANNEL ?? 'update'
const heartbeatMs = Number(process.env.HEARTBEAT_INTERVAL_MS ?? 15_000)
const commands = new Set(['pp', 'fwd', 'rew', 'out', 'reload'])

const EVENT_HEAD = Buffer.from('event: update\ndata: ')
const EVENT_TAIL = Buffer.from('\n\n')
const HEARTBEAT = Buffer.from(': keep-alive\n\n')
const EMPTY = Buffer.from('{}')
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' }
const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-store, no-transform',
  'x-accel-buffering': 'no',
}
const webcontrolFrames = new Map(
  [...commands].map((command) => [
    command,
    Buffer.concat([EVENT_HEAD, Buffer.from(JSON.stringify({ type: 'webcontrol', command })), EVENT_TAIL]),
  ]),
)

const streams = new Set<ServerResponse>()
function broadcast(frame: Buffer): void {
  for (const res of streams) res.write(frame)
}

const redis = new Redis(redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 0 })
redis.on('error', () => {})
const subscriber = new Redis(redisUrl)
subscriber.on('error', () => {})
let subscribed = false
subscriber.subscribe(channel).then(
  () => {
    subscribed = true
  },
  () => {},
)
subscriber.on('messageBuffer', (_from: Buffer, message: Buffer) => {
  broadcast(Buffer.concat([EVENT_HEAD, message, EVENT_TAIL]))
})
setInterval(() => broadcast(HEARTBEAT), heartbeatMs).unref()

function send(res: ServerResponse, status: number, body: Buffer | string): void {
  res.writeHead(status, JSON_TYPE)
  res.end(body)
}

async function getKey(key: string): Promise<Buffer> {
  const value = await redis.getBuffer(key)
  return value === null || value.length === 0 ? EMPTY : value
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/'
  if (req.method === 'GET' && url === '/events') {
    res.writeHead(200, STREAM_HEADERS)
    res.flushHeaders()
    streams.add(res)
    res.on('close', () => streams.delete(res))
    return
  }
  if (req.method === 'GET' && url === '/key/Environment') {
    const [aqi, moon, weather] = await Promise.all([getKey('AQI'), getKey('Moon'), getKey('Weather')])
    const body = Buffer.concat([
      Buffer.from('{"AQI":'),
      aqi,
      Buffer.from(',"Moon":'),
      moon,
      Buffer.from(',"Weather":'),
      weather,
      Buffer.from('}'),
    ])
    return send(res, 200, body)
  }
  if (req.method === 'GET' && url.startsWith('/key/')) {
    return send(res, 200, await getKey(decodeURIComponent(url.slice(5))))
  }
  if (req.method === 'PUT' && url.startsWith('/webcontrol/')) {
    req.resume()
    const frame = webcontrolFrames.get(url.slice(12))
    if (frame === undefined) return send(res, 400, '{"error":"Invalid command"}')
    broadcast(frame)
    return send(res, 202, '{"status":"Command queued"}')
  }
  if (req.method === 'GET' && url === '/ready') {
    const ready = subscribed && redis.status === 'ready'
    return send(res, ready ? 200 : 503, ready ? '{"status":"ready"}' : '{"status":"unavailable"}')
  }
  if (req.method === 'GET' && url === '/live') return send(res, 200, '{"status":"alive"}')
  send(res, 404, '{"error":"Not Found"}')
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => {
    if (!res.headersSent) send(res, 503, '{"error":"Redis unavailable"}')
    else res.destroy()
  })
})
server.listen(port, host)

process.on('SIGTERM', () => {
  for (const res of streams) res.end()
  redis.disconnect()
  subscriber.disconnect()
  server.close()
  server.closeAllConnections()
  process.exit(0)
})
