/** Event ids: `<epoch>-<seq>`, the epoch naming one process's stream, seq rising by one per event. */

/** Longer ids are not ours: they get a snapshot without being parsed. */
const MAX_ID_LENGTH = 64
const ID = /^([0-9a-z]{1,32})-(0|[1-9][0-9]{0,15})$/

export function parseEventId(id: string): { epoch: string; seq: number } | undefined {
  if (id.length > MAX_ID_LENGTH) return undefined
  const match = ID.exec(id)
  if (match === null) return undefined
  const seq = Number(match[2])
  if (!Number.isSafeInteger(seq)) return undefined
  return { epoch: match[1] as string, seq }
}
