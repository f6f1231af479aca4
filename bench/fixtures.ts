/** The shared real-shaped messages as bytes, their stored form and their SSE frames. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { FIXTURES_DIR } from './paths.js'

export function fixture(name: string): Buffer {
  return readFileSync(join(FIXTURES_DIR, name))
}

/** What the store updater writes: the message minus `type`, under key `<type>`. */
export function storedForm(message: Buffer): { type: string; value: string } {
  const { type, ...rest } = JSON.parse(message.toString('utf8')) as { type: string }
  return { type, value: JSON.stringify(rest) }
}

/** The exact bytes of one `update` event for a one-line message (the fixtures have no line breaks). */
export function updateFrame(message: Buffer): Buffer {
  if (message.includes(0x0a) || message.includes(0x0d)) throw new Error('fixture has a line break')
  return Buffer.concat([Buffer.from('event: update\ndata: '), message, Buffer.from('\n\n')])
}

/**
 * The webcontrol event in both serialisations seen in the project: the compact one the
 * service emits (`JSON.stringify`) and the spaced one in the fixtures (the original's
 * `json.dumps`). The bench accepts either, so it measures delivery, not formatting.
 */
export function webcontrolFrames(command: string): Buffer[] {
  return [
    updateFrame(Buffer.from(JSON.stringify({ type: 'webcontrol', command }))),
    updateFrame(fixture(`webcontrol-${command}.json`)),
  ]
}
