/** The realistic day of the fixtures README, as a schedule of publishes by simulated minute. */

export interface Publisher {
  type: string
  /** Minutes between two data messages. */
  everyMinutes: number
  /** Fixture files of its data messages, used in turn. */
  files: string[]
  /** Active only between these minutes of the day (games). */
  fromMinute?: number
  toMinute?: number
}

export const PUBLISHERS: Publisher[] = [
  { type: 'Weather', everyMinutes: 15, files: ['Weather.json'] },
  { type: 'AQI', everyMinutes: 15, files: ['AQI.json'] },
  { type: 'Calendar', everyMinutes: 15, files: ['Calendar.json', 'Calendar-no-events.json'] },
  { type: 'Moon', everyMinutes: 60, files: ['Moon.json'] },
  { type: 'Events', everyMinutes: 60, files: ['Events.json'] },
  { type: 'GitHub', everyMinutes: 10, files: ['GitHub.json'] },
  { type: 'NFL', everyMinutes: 1, files: ['NFL.json'] },
  { type: 'MLB', everyMinutes: 0.5, files: ['MLB.json'], fromMinute: 13 * 60, toMinute: 23 * 60 + 30 },
]

export const MINUTES_PER_DAY = 24 * 60

export interface Publish {
  /** Simulated minute since the start of the replay (not wrapped to the day). */
  minute: number
  type: string
  /** The fixture file to publish. */
  file: string
}

function active(p: Publisher, minuteOfDay: number): boolean {
  return (
    (p.fromMinute === undefined || minuteOfDay >= p.fromMinute) &&
    (p.toMinute === undefined || minuteOfDay < p.toMinute)
  )
}

/**
 * Every data publish with `from < minute <= to`, in time order, for a replay that started
 * at `startMinute` of the day.
 */
export function publishesBetween(startMinute: number, from: number, to: number): Publish[] {
  const out: Publish[] = []
  for (const p of PUBLISHERS) {
    const first = Math.floor(from / p.everyMinutes) + 1
    for (let n = first; n * p.everyMinutes <= to; n++) {
      const minute = n * p.everyMinutes
      if (!active(p, (startMinute + minute) % MINUTES_PER_DAY)) continue
      out.push({ minute, type: p.type, file: p.files[n % p.files.length] as string })
    }
  }
  return out.sort((a, b) => a.minute - b.minute)
}

/** "HH:MM" of a simulated minute. */
export function clock(startMinute: number, minute: number): string {
  const m = Math.floor(startMinute + minute) % MINUTES_PER_DAY
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`
}
