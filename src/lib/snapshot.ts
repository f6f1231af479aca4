/** Rebuilding messages from the store: `{"type": T, …stored}` for each type that has a value. */
import type { Cluster, Redis } from 'ioredis'
import { HttpError, RedisUnavailableError } from '../errors.js'
import { readStoredValue } from './stored-value.js'

export interface StoredMessage {
  type: string
  /** The rebuilt message, as its JSON bytes. */
  payload: Buffer
  /** The stored value's own JSON, to tell whether it changed. */
  stored: string
}

/**
 * The current stored message of each type, in the order given. Types without a value (or
 * whose value is not a JSON object) are left out; a Redis failure rejects.
 */
export async function readStoredMessages(
  redis: Redis | Cluster,
  prefix: string,
  types: string[],
): Promise<StoredMessage[]> {
  const values = await Promise.all(
    types.map((type) =>
      readStoredValue(redis, prefix, type).catch((err: unknown) => {
        // A value that is not JSON is left out, not a reason to fail every other type.
        if (err instanceof HttpError && !(err instanceof RedisUnavailableError)) return undefined
        throw err
      }),
    ),
  )
  const out: StoredMessage[] = []
  types.forEach((type, i) => {
    const value = values[i]
    if (
      typeof value !== 'object' ||
      value === null ||
      Array.isArray(value) ||
      Object.keys(value).length === 0
    )
      return
    const stored = JSON.stringify(value)
    out.push({ type, stored, payload: Buffer.from(JSON.stringify({ type, ...value })) })
  })
  return out
}
