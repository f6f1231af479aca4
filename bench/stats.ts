/** Percentiles and small helpers for the figures. */

export interface LatencySummary {
  count: number
  p50: number
  p99: number
  max: number
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number
}

export function summarize(values: Float64Array | number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort()
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
  }
}

export function median(values: number[]): number {
  return summarize(values).p50
}

export const nowUs = (): number => Number(process.hrtime.bigint() / 1000n)
