/** The shared real-shaped messages, read as bytes exactly as they travel on the channel. */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const FIXTURES_DIR = process.env.FIXTURES_DIR ?? join(repoRoot, '..', 'shared', 'fixtures')

export function fixture(name: string): Buffer {
  return readFileSync(join(FIXTURES_DIR, name))
}

/** Every message a publisher sends (top level and v2/), not the API's own webcontrol output. */
export function messageFixtures(): string[] {
  const names: string[] = []
  for (const dir of ['', 'v2']) {
    for (const file of readdirSync(join(FIXTURES_DIR, dir)).sort()) {
      if (file.endsWith('.json') && !file.startsWith('webcontrol-'))
        names.push(dir === '' ? file : `${dir}/${file}`)
    }
  }
  return names
}

/** What the store updater writes: the message minus `type`, under `<prefix><type>`. */
export function storedForm(message: Buffer): { type: string; value: string } {
  const { type, ...rest } = JSON.parse(message.toString('utf8')) as { type: string }
  return { type, value: JSON.stringify(rest) }
}
