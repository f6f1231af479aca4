/** Reading the Prometheus text format (0.0.4), enough for exact checks: every sample by name and labels. */
import type { FastifyInstance } from 'fastify'

export type Labels = Record<string, string>

export interface Sample {
  name: string
  labels: Labels
  value: number
}

export interface Exposition {
  /** `# TYPE` of each metric family. */
  types: Map<string, string>
  /** `# HELP` of each metric family, unescaped. */
  help: Map<string, string>
  samples: Sample[]
}

function unescapeText(text: string, quotes: boolean): string {
  return text.replace(quotes ? /\\(["\\n])/g : /\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c))
}

/** A float as Go's ParseFloat reads it, which Prometheus uses: NaN and Inf in any case. */
function parseValue(text: string): number {
  const lower = text.toLowerCase()
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY
  if (lower === '-inf') return Number.NEGATIVE_INFINITY
  // prom-client writes "Nan" for a gauge that has no value yet.
  if (lower === 'nan') return Number.NaN
  const value = Number(text)
  if (text === '' || Number.isNaN(value)) throw new Error(`not a sample value: "${text}"`)
  return value
}

/** The label set between `{` and `}`, which may hold escaped quotes, commas and braces. */
function parseLabels(line: string, start: number): { labels: Labels; end: number } {
  const labels: Labels = {}
  let i = start
  for (;;) {
    while (line[i] === ' ') i++
    if (line[i] === '}') return { labels, end: i + 1 }
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i))
    if (name === null || line[i + name[0].length] !== '=' || line[i + name[0].length + 1] !== '"')
      throw new Error(`bad label at ${i}: ${line}`)
    i += name[0].length + 2
    let raw = ''
    while (line[i] !== '"') {
      if (i >= line.length) throw new Error(`unterminated label value: ${line}`)
      if (line[i] === '\\') raw += line[i++]
      raw += line[i++]
    }
    i++
    labels[name[0]] = unescapeText(raw, true)
    if (line[i] === ',') i++
  }
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>()
  const help = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const comment = /^#\s+(HELP|TYPE)\s+(\S+)\s?(.*)$/.exec(line)
    if (comment !== null) {
      const [, kind, name = '', rest = ''] = comment
      if (kind === 'TYPE') types.set(name, rest)
      else help.set(name, unescapeText(rest, false))
      continue
    }
    if (line.startsWith('#')) continue
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)
    if (name === null) throw new Error(`not a sample: ${line}`)
    let labels: Labels = {}
    let rest = line.slice(name[0].length)
    if (rest.startsWith('{')) {
      const parsed = parseLabels(line, name[0].length + 1)
      labels = parsed.labels
      rest = line.slice(parsed.end)
    }
    // The value, then an optional timestamp.
    const [value = '', timestamp] = rest.trim().split(/\s+/)
    if (timestamp !== undefined && !/^-?\d+$/.test(timestamp)) throw new Error(`bad timestamp: ${line}`)
    samples.push({ name: name[0], labels, value: parseValue(value) })
  }
  return { types, help, samples }
}

/** One scrape, with lookups that fail loudly when a sample is missing. */
export class Scrape {
  readonly exposition: Exposition
  readonly text: string

  constructor(text: string) {
    this.text = text
    this.exposition = parseExposition(text)
  }

  /** The samples of that name whose labels include `labels`. */
  samples(name: string, labels: Labels = {}): Sample[] {
    return this.exposition.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    )
  }

  /** The value of the one sample with exactly these labels; throws when there is none. */
  value(name: string, labels: Labels = {}): number {
    const want = Object.keys(labels).length
    const found = this.samples(name, labels).filter((s) => Object.keys(s.labels).length === want)
    if (found.length !== 1) {
      throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${found.length}`)
    }
    return (found[0] as Sample).value
  }

  /** Like value(), but 0 when the sample does not exist yet (label sets created on first use). */
  valueOr0(name: string, labels: Labels = {}): number {
    const want = Object.keys(labels).length
    const found = this.samples(name, labels).filter((s) => Object.keys(s.labels).length === want)
    return found.length === 0 ? 0 : this.value(name, labels)
  }
}

/** GET /metrics through inject. */
export async function scrape(app: FastifyInstance): Promise<Scrape> {
  const res = await app.inject('/metrics')
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}: ${res.body}`)
  return new Scrape(res.body)
}

/** How much each named sample grew between two scrapes. */
export function increase(before: Scrape, after: Scrape, name: string, labels: Labels = {}): number {
  return after.valueOr0(name, labels) - before.valueOr0(name, labels)
}
