/** The printed table: each figure for service and floor, their ratio, and the target's verdict. */

export interface Row {
  figure: string
  service: number
  floor: number
  unit: string
  /** The target in words, and whether it is met (undefined: no target, figure for context). */
  target?: string
  pass?: boolean
  /** Decimals to print (default: 1 below 100, 0 above). */
  digits?: number
}

export type Verdict = 'pass' | 'FAIL' | ''

function format(value: number, digits?: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  const d = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2)
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
}

export function ratio(service: number, floor: number): number {
  return floor === 0 ? (service === 0 ? 1 : Number.POSITIVE_INFINITY) : service / floor
}

export function verdict(row: Row): Verdict {
  if (row.pass === undefined) return ''
  return row.pass ? 'pass' : 'FAIL'
}

/** A Markdown table (also readable as plain text). */
export function renderTable(rows: Row[]): string {
  const header = ['figure', 'service', 'floor', 'service/floor', 'target', 'result']
  const body = rows.map((r) => [
    r.unit === '' ? r.figure : `${r.figure} (${r.unit})`,
    format(r.service, r.digits),
    format(r.floor, r.digits),
    Number.isFinite(r.service) && Number.isFinite(r.floor)
      ? `${format(ratio(r.service, r.floor), 2)}×`
      : 'n/a',
    r.target ?? '',
    verdict(r),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)))
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 || i >= 4 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (i === 0 || i >= 4 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [line(header), rule, ...body.map(line)].join('\n')
}
