/**
 * Reads the start of many small files quickly: one synchronous open/fstat/read/close per file (fs.ts
 * `openRegularForReadSync`). On Node 20, reading 100,000 caption files this way takes about 0.8 s, against 5–9 s
 * through `fs/promises.readFile` (which makes several thread-pool round trips and a FileHandle per file). Memory
 * stays bounded by `maxBytes` a file, whatever the files' sizes.
 */
import {NotRegularFileError, openRegularForReadSync} from './fs.js'

/**
 * The bytes read; or, with `refuseLarger`, the size of a file longer than `maxBytes` (`code` `ETOOLARGE`, nothing
 * read); or the error code (`not a regular file`, `ENOENT`, `EACCES`, ...).
 */
export type HeadResult =
  | {ok: true; bytes: Uint8Array; complete: boolean}
  | {ok: false; code: 'ETOOLARGE'; size: number}
  | {ok: false; code: string; size?: undefined}

/**
 * Makes a reader of at most `maxBytes` from the start of a file, opened as `openRegularForReadSync` opens: never
 * through a symbolic link at the last component, never blocking (a FIFO, device, socket or folder is refused before
 * any read, with the code `not a regular file`; README "Safety model", rule 1).
 * @param options.refuseLarger a file longer than `maxBytes` is not read at all: its size is returned instead
 *   (a caption file of more than 1 MiB, which lora refuses to read)
 * @returns a synchronous function that never throws; `complete` is false when the file is longer than `maxBytes`
 */
export function createHeadReader(
  maxBytes: number,
  options: {refuseLarger?: boolean} = {},
): (path: string) => HeadResult {
  return (path) => {
    try {
      const file = openRegularForReadSync(path)
      if (!file) return {ok: false, code: 'ENOENT'}
      try {
        if (options.refuseLarger && file.size > maxBytes) return {ok: false, code: 'ETOOLARGE', size: file.size}
        return {ok: true, bytes: file.read(0, maxBytes), complete: file.size <= maxBytes}
      } finally {
        file.close()
      }
    } catch (error) {
      if (error instanceof NotRegularFileError) return {ok: false, code: 'not a regular file'}
      return {ok: false, code: (error as NodeJS.ErrnoException).code ?? (error as Error).message}
    }
  }
}
