/**
 * Zip files for `lora export --zip` / `--target civitai`, written by yazl (streaming: each member is read from its
 * file while the zip is written, so memory holds a few MiB whatever the export's size). Members are read through
 * adapters/fs.ts `openRegularReadStream` (never through a symbolic link) and the zip is written through
 * `writeStreamToFile` (temp file, fsync, then moved into place): a kill leaves no half-written zip under its name.
 */
import {openRegularReadStream, writeStreamToFile} from './fs.js'

/** One zip member: its name in the zip (`/`-separated) and the file it is read from. */
export interface ZipMember {
  name: string
  path: string
}

/** Image formats that are already compressed: stored, not deflated (deflate gains nothing and costs time). */
const STORED = /\.(jpe?g|png|webp|gif|avif)$/iu

/**
 * Writes `members` into a new zip at `zipPath` in their order, with a fixed modification time (reproducible zips).
 * @param options.replace replace an existing file at `zipPath` (else EEXIST when one is there)
 * @throws the file system's error, or NotRegularFileError when a member is not a regular file
 */
export async function writeZip(
  zipPath: string,
  members: readonly ZipMember[],
  options: {replace: boolean},
): Promise<void> {
  const {ZipFile} = await import('yazl')
  const zip = new ZipFile()
  const mtime = new Date(Date.UTC(2000, 0, 1))
  let failure: unknown
  for (const m of members) {
    zip.addReadStreamLazy(m.name, {mtime, compress: !STORED.test(m.name)}, (cb) => {
      try {
        cb(null, openRegularReadStream(m.path))
      } catch (error) {
        failure = error
        cb(error, undefined as unknown as NodeJS.ReadableStream)
      }
    })
  }
  zip.end()
  const errors = new Promise<never>((_, reject) =>
    zip.on('error', (error: Error) => reject((failure as Error | undefined) ?? error)),
  )
  errors.catch(() => {})
  await Promise.race([writeStreamToFile(zipPath, zip.outputStream as AsyncIterable<Uint8Array>, options), errors])
}
