/** A progress reporter a service calls per unit of work; the terminal layer decides how (or whether) to show it. */
export interface Progress {
  tick(detail?: string): void
  done(): void
}

/** How a progress reporter shows itself. */
export interface ProgressOptions {
  /** Show the rate and the time left, counting in this unit (`images`: `3.2 images/s, ETA 0:41`). */
  rate?: string
}

/** Makes a progress reporter for `total` units labelled `label`. */
export type ProgressFactory = (label: string, total: number, options?: ProgressOptions) => Promise<Progress>

/**
 * A whole number with its digits grouped by commas, as `n.toLocaleString('en-US')` writes it (`12,345`), without
 * ICU: the first `toLocaleString` of a process sets up a number formatter, about 15 ms on Node 20 and 22, which
 * `lora validate` paid on every run for its summary line. Other numbers (fractions, NaN) go to toLocaleString.
 */
export function groupDigits(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US')
  return (n < 0 ? '-' : '') + String(Math.abs(n)).replace(/\B(?=(?:\d{3})+$)/gu, ',')
}

/**
 * The rate and time left after `done` of `total` units in `elapsedMs` milliseconds: `3.2 images/s, ETA 0:41`
 * (`ETA 1:02:05` past an hour); empty before the first unit or the first 100 ms (no rate worth showing yet).
 */
export function rateText(done: number, total: number, elapsedMs: number, unit: string): string {
  if (done <= 0 || elapsedMs < 100) return ''
  const perSecond = (done * 1000) / elapsedMs
  const left = Math.max(0, Math.round((total - done) / perSecond))
  const [h, m, sec] = [Math.floor(left / 3600), Math.floor((left % 3600) / 60), left % 60]
  const clock = h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`
  const rate = perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(1)
  return `${rate} ${unit}/s, ETA ${clock}`
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** A factory whose reporters do nothing (no terminal, tests, --json). */
export const noProgress: ProgressFactory = async () => ({tick() {}, done() {}})

/**
 * Maps `items` through `fn` with at most `concurrency` calls in flight, keeping the input order in the result
 * (p-map, imported on first use).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const {default: pMap} = await import('p-map')
  return pMap(items, fn, {concurrency})
}
