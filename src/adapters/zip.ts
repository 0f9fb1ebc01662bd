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

/**
 * Why `name` cannot be a member name, or undefined when it can: the rules yazl applies when a member is added
 * (`validateMetadataPath`: `\` read as `/`; empty, absolute, a Windows drive path such as `C:x.png`, a `..`
 * component, a trailing `/`), which an unzipper would also read as a path outside the folder it unpacks into. Pure:
 * for callers to refuse such a name before anything is written.
 */
export function zipNameProblem(name: string): string | undefined {
  const path = name.replace(/\\/gu, '/')
  if (path === '') return 'is empty'
  if (/^[A-Za-z]:/u.test(path)) return 'looks like a Windows drive path'
  if (path.startsWith('/')) return 'is an absolute path'
  if (path.split('/').includes('..')) return 'holds a ".." component'
  if (path.endsWith('/')) return 'ends with "/"'
  return undefined
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
