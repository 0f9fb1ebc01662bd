/**
 * Shell words in the commands lora suggests in its hints (a file name from a dataset may hold `'`, `$(…)` or a
 * backquote: pasted unquoted, the suggestion would run it). Pure: no I/O.
 */

/** Quotes a word for a POSIX shell when it needs it (`'…'`, a `'` inside written `'\''`). */
export function shellQuote(word: string): string {
  return /^[\w./:@%+=,-]+$/u.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`
}
