/** A progress reporter a service calls per unit of work; the terminal layer decides how (or whether) to show it. */
export interface Progress {
  tick(detail?: string): void
  done(): void
}

/** Makes a progress reporter for `total` units labelled `label`. */
export type ProgressFactory = (label: string, total: number) => Promise<Progress>

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
