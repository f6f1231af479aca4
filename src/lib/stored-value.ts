/** Reading a stored value as JSON, whatever Redis type holds it. */
import type { Cluster, Redis } from 'ioredis'
import { HttpError, RedisUnavailableError, StoredValueNotJsonError } from '../errors.js'

const EMPTY = Object.freeze({})

function isWrongType(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('WRONGTYPE')
}

/** What GET found: a string's bytes (maybe empty or missing), or a collection already rendered. */
type Found = { raw: Buffer | null } | { collection: unknown }

async function find(redis: Redis | Cluster, fullKey: string, key: string): Promise<Found> {
  try {
    return { raw: await redis.getBuffer(fullKey) }
  } catch (err) {
    if (isWrongType(err)) return { collection: await readCollection(redis, fullKey, key) }
    throw new RedisUnavailableError(err)
  }
}

function parse(raw: string, key: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    throw new StoredValueNotJsonError(key)
  }
}

/**
 * The JSON stored under `prefix + key`; `{}` when missing or empty (display clients expect
 * an object). `key` (without prefix) is what error bodies name.
 */
export async function readStoredValue(redis: Redis | Cluster, prefix: string, key: string): Promise<unknown> {
  const found = await find(redis, prefix + key, key)
  if ('collection' in found) return found.collection
  return found.raw === null || found.raw.length === 0 ? EMPTY : parse(found.raw.toString(), key)
}

/**
 * Serialised bodies by key, reused while the stored bytes are unchanged: a value is written
 * every few minutes and read on every request, and parsing and re-serialising a 4 KB value
 * costs more than the rest of the request. Bytes in, bytes out: decoding the stored value to
 * a string and encoding the reply again cost about 15 µs a request (a quarter of it) in the
 * bench, and comparing two Buffers is a memcmp. Bounded: the oldest key goes first.
 */
export class BodyCache {
  readonly #entries = new Map<string, { raw: Buffer; body: Buffer }>()
  readonly #max: number

  constructor(max = 256) {
    this.#max = max
  }

  body(fullKey: string, raw: Buffer, key: string): Buffer {
    const cached = this.#entries.get(fullKey)
    if (cached?.raw.equals(raw)) return cached.body
    const body = Buffer.from(JSON.stringify(parse(raw.toString(), key)))
    this.#entries.delete(fullKey)
    // A copy: the reply's bytes may be a slice of a larger socket read, which it would keep alive.
    this.#entries.set(fullKey, { raw: Buffer.from(raw), body })
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string)
    return body
  }
}

/** The body for a missing or empty value. */
export const EMPTY_BODY = Buffer.from('{}')

/** The stored value re-serialised as JSON bytes, as `readStoredValue` would give it, via `cache`. */
export async function readStoredJson(
  redis: Redis | Cluster,
  prefix: string,
  key: string,
  cache: BodyCache,
): Promise<Buffer> {
  const fullKey = prefix + key
  const found = await find(redis, fullKey, key)
  if ('collection' in found) return Buffer.from(JSON.stringify(found.collection))
  return found.raw === null || found.raw.length === 0 ? EMPTY_BODY : cache.body(fullKey, found.raw, key)
}

/**
 * Several values at once, each as `readStoredJson` gives it, with one MGET: one command and
 * one reply to decode instead of one per key (GET /key/Environment). MGET answers nil for a
 * key that is missing or holds a non-string; those keys (rare) are read one by one. Not for
 * Redis Cluster, where the keys live in different slots. Null when the ACL refuses MGET
 * (a user set up before the service used it).
 */
export async function readStoredJsonMany(
  redis: Redis,
  prefix: string,
  keys: readonly string[],
  cache: BodyCache,
): Promise<Buffer[] | null> {
  let raws: (Buffer | null)[]
  try {
    raws = await redis.mgetBuffer(keys.map((key) => prefix + key))
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('NOPERM')) return null
    throw new RedisUnavailableError(err)
  }
  const bodies: Buffer[] = []
  for (const [i, key] of keys.entries()) {
    const raw = raws[i] ?? null
    if (raw === null) bodies.push(await readStoredJson(redis, prefix, key, cache))
    else bodies.push(raw.length === 0 ? EMPTY_BODY : cache.body(prefix + key, raw, key))
  }
  return bodies
}

/** A hash, list, set or sorted set rendered as JSON rather than failing (the original gave a 500). */
async function readCollection(redis: Redis | Cluster, fullKey: string, key: string): Promise<unknown> {
  try {
    const type = await redis.type(fullKey)
    switch (type) {
      case 'hash':
        return await redis.hgetall(fullKey)
      case 'list':
        return await redis.lrange(fullKey, 0, -1)
      case 'set':
        // Sorted, so the same set always renders the same way.
        return (await redis.smembers(fullKey)).sort()
      case 'zset': {
        const flat = await redis.zrange(fullKey, 0, -1, 'WITHSCORES')
        const members: { member: string; score: number }[] = []
        for (let i = 0; i + 1 < flat.length; i += 2) {
          members.push({ member: flat[i] as string, score: Number(flat[i + 1]) })
        }
        return members
      }
      case 'none':
        // Deleted between the two commands.
        return EMPTY
      default:
        throw new HttpError(502, { error: `Stored value is a Redis ${type}, which has no JSON form`, key })
    }
  } catch (err) {
    if (err instanceof HttpError) throw err
    throw new RedisUnavailableError(err)
  }
}
