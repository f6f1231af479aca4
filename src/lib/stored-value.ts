/** Reading a stored value as JSON, whatever Redis type holds it. */
import type { Cluster, Redis } from 'ioredis'
import { HttpError, RedisUnavailableError, StoredValueNotJsonError } from '../errors.js'

const EMPTY = Object.freeze({})

function isWrongType(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('WRONGTYPE')
}

/**
 * The JSON stored under `prefix + key`; `{}` when missing or empty (display clients expect
 * an object). `key` (without prefix) is what error bodies name.
 */
export async function readStoredValue(redis: Redis | Cluster, prefix: string, key: string): Promise<unknown> {
  const fullKey = prefix + key
  let raw: string | null
  try {
    raw = await redis.get(fullKey)
  } catch (err) {
    if (isWrongType(err)) return readCollection(redis, fullKey, key)
    throw new RedisUnavailableError(err)
  }
  if (raw === null || raw === '') return EMPTY
  try {
    return JSON.parse(raw)
  } catch {
    throw new StoredValueNotJsonError(key)
  }
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
