/**
 * Count-dependent English plurals for user-facing text: `1 image`, `3 images`, `1 alias`, `2 aliases`, and the verb
 * that agrees with a count (`1 image has`, `3 images have`). Pure, no I/O.
 */

/**
 * The word for `n` of it: `singular` when n is 1, else `pluralForm` (default: `singular` + `s`). Also picks a verb
 * that agrees with a count: `plural(n, 'is', 'are')`, `plural(n, 'has', 'have')`, `plural(n, 'was', 'were')`.
 */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return n === 1 ? singular : pluralForm
}

/** `1 image`, `3 images`, `0 images`, `2 aliases` (with `pluralForm` `aliases`): a count and its noun. */
export function counted(n: number, noun: string, pluralForm?: string): string {
  return `${n} ${plural(n, noun, pluralForm)}`
}
