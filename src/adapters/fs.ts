/**
 * The single file-system adapter for every file operation `lora` makes (only src/adapters/ imports `node:fs`).
 * All mutations (open for write, write, fsync, rename, link, unlink, mkdir, recursive remove) pass through
 * `mutation()`, the failpoint seam: with `LORA_FAILPOINT=N` the process kills itself with SIGKILL just before its
 * N-th mutation, which the reliability tests use to prove that a kill at any instant loses nothing. With
 * `LORA_MUTATION_LOG=<file>` every mutation is appended to that file as it is made (see `mutation`), which
 * test/reliability/mutation-seam.test.ts uses to prove that no write bypasses the seam.
 *
 * Write discipline (see README "Safety"): new content goes to a temp file in the destination folder, is fsynced,
 * then moved into place (rename to replace a file `lora` owns, link to create one exclusively), then the folder is
 * fsynced. Nothing here ever replaces a file it was not asked to replace.
 */
import {constants as bufferConstants} from 'node:buffer'
import {createHash, randomBytes} from 'node:crypto'
import * as fs from 'node:fs'
import {createReadStream, constants as fsConstants} from 'node:fs'
import * as fsp from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'

/** Marker in the names of temp files; recovery deletes files carrying it. */
export const TEMP_MARKER = '.lora-tmp-'

let mutations = 0
const failpoint = Number(process.env.LORA_FAILPOINT ?? 0)
/** With `LORA_FAILPOINT_ERROR=ENOSPC` (or another errno code) the failpoint fails writes instead of killing. */
const failError = process.env.LORA_FAILPOINT_ERROR

/** The kinds of mutation: what the seam counts, logs and (for the space-needing ones) can fail. */
export type MutationKind = 'open' | 'write' | 'fsync' | 'copy' | 'link' | 'unlink' | 'mkdir' | 'rename' | 'rmtree'

/**
 * Counts one mutation of `path` (for `rename`, `to` is where it goes). With `LORA_MUTATION_LOG=<file>`, first
 * appends one JSON line `{"n": <count>, "pid": <pid>, "op": <kind>, "path": <absolute path>, "to"?: <path>}` to
 * that file (synchronously, so a line is never lost to the kill below). At the failpoint: dies with SIGKILL; or,
 * with LORA_FAILPOINT_ERROR, makes this and every later mutation that needs space (open, write, copy, link,
 * mkdir, rename) fail with that error code, as a full disk would, while removals and fsyncs still work.
 * `LORA_FAILPOINT_LOG=1` prints the failpoint's mutation on stderr (`failpoint <n>: <kind> <path>`).
 */
function mutation(kind: MutationKind, path: string, to?: string): void {
  mutations++
  // Read at each mutation (not once at load) so that in-process test runs can turn the log on per command.
  const mutationLog = process.env.LORA_MUTATION_LOG
  if (mutationLog)
    fs.appendFileSync(
      mutationLog,
      JSON.stringify({n: mutations, pid: process.pid, op: kind, path, ...(to === undefined ? {} : {to})}) + '\n',
    )
  if (failpoint <= 0 || mutations < failpoint) return
  if (process.env.LORA_FAILPOINT_LOG) process.stderr.write(`failpoint ${mutations}: ${kind} ${path}\n`)
  if (!failError) process.kill(process.pid, 'SIGKILL')
  if (['open', 'write', 'copy', 'link', 'mkdir', 'rename'].includes(kind)) {
    throw Object.assign(new Error(`${failError}: injected failure, ${kind} ${path}`), {
      code: failError,
      syscall: kind,
      path,
    })
  }
}

/**
 * A random tag for this process's temp names, plus a counter: unique without a random draw per file. Drawn on the
 * first temp name, not at load: a command that writes nothing does not load node:crypto (3 ms on Node 22).
 */
let runTag: string | undefined
let tempCounter = 0

/** A new temp path in the same folder as `path`: `.lora-tmp-<pid>-<run tag><n>-<name>` (TEMP_MARKER, creator's pid). */
export function tempPathFor(path: string): string {
  runTag ??= randomBytes(4).toString('hex')
  return join(dirname(path), `${TEMP_MARKER}${process.pid}-${runTag}${(tempCounter++).toString(36)}-${basename(path)}`)
}

/** fsyncs a folder so that a rename or link in it survives a power cut. Errors on platforms without it are ignored. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined
  try {
    handle = await fsp.open(dir, 'r')
    mutation('fsync', dir)
    await handle.sync()
  } catch (error) {
    if (!isCode(error, 'EISDIR', 'EINVAL', 'EPERM', 'EBADF')) throw error
  } finally {
    await handle?.close()
  }
}

/** Creates a folder (and its parents); no error when it exists. */
export async function makeDir(dir: string): Promise<void> {
  mutation('mkdir', dir)
  await fsp.mkdir(dir, {recursive: true})
}

/**
 * Creates the folder `rel` below `base` one level at a time, never through a symbolic link: each level that exists
 * already must be a real folder (`lstat`), so that a link planted at `.lora-tagger/cache` (a dataset may come from a
 * stranger) cannot lead a write out of `base`. `base` itself is the caller's to check.
 * @returns the folder's path (`base` joined with `rel`)
 * @throws an ENOTDIR system error naming the level that is a symbolic link or not a folder, with `notRealFolder`
 *   `link` or `file` (callers that write a cache take it as any other failure to write it; errors.ts
 *   `fromSystemError` says what it is); the file system's error otherwise
 */
export async function makeDirBelow(base: string, rel: string): Promise<string> {
  let dir = base
  for (dir of levelsBelow(base, rel)) {
    try {
      mutation('mkdir', dir)
      await fsp.mkdir(dir)
    } catch (error) {
      if (!isCode(error, 'EEXIST')) throw error
      const st = await fsp.lstat(dir)
      if (!st.isDirectory()) throw notRealFolderError(dir, st, 'mkdir')
    }
  }
  return dir
}

/**
 * Whether the folder `rel` below `base` is there, reached without a symbolic link: each level a real folder
 * (`lstat`), as makeDirBelow would make it. False when a level does not exist.
 * @throws the ENOTDIR system error of makeDirBelow (`notRealFolder`) when a level is a symbolic link or not a folder
 */
export function realFolderBelow(base: string, rel: string): boolean {
  for (const dir of levelsBelow(base, rel)) {
    const st = lstatIfExistsSync(dir)
    if (!st) return false
    if (!st.isDirectory()) throw notRealFolderError(dir, st, 'lstat')
  }
  return true
}

/** The path of each level of `rel` below `base`, outermost first. @throws Error when `rel` leaves `base` (`..`) */
function levelsBelow(base: string, rel: string): string[] {
  const levels: string[] = []
  for (const part of rel.split(/[\\/]+/u).filter((p) => p !== '' && p !== '.')) {
    if (part === '..') throw new Error(`${rel} leaves ${base}`)
    levels.push(join(levels.at(-1) ?? base, part))
  }
  return levels
}

/** True for the ENOTDIR error of makeDirBelow and realFolderBelow: a level of lora's own folders is a link or a file. */
export function isNotRealFolderError(
  error: unknown,
): error is NodeJS.ErrnoException & {notRealFolder: 'link' | 'file'} {
  return isCode(error, 'ENOTDIR') && typeof (error as {notRealFolder?: unknown}).notRealFolder === 'string'
}

/** The ENOTDIR system error for a level that is a symbolic link or not a folder (`notRealFolder` says which). */
function notRealFolderError(dir: string, st: fs.Stats, syscall: 'mkdir' | 'lstat'): Error {
  const link = st.isSymbolicLink()
  const nothing = syscall === 'mkdir' ? 'writes nothing' : 'reads and writes nothing'
  return Object.assign(
    new Error(`${dir} is ${link ? 'a symbolic link' : 'not a folder'}; lora ${nothing} through it (ENOTDIR)`),
    {code: 'ENOTDIR', syscall, path: dir, notRealFolder: link ? 'link' : 'file'},
  )
}

/**
 * Writes `data` (or each chunk of a stream: one `write` mutation per chunk) to a new temp file beside `path`, fsyncs
 * it and returns the temp path.
 */
async function writeTemp(path: string, data: string | Uint8Array | AsyncIterable<Uint8Array>): Promise<string> {
  const tmp = tempPathFor(path)
  mutation('open', tmp)
  const handle = await fsp.open(tmp, 'wx')
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) {
      mutation('write', tmp)
      await handle.writeFile(data)
    } else
      for await (const chunk of data) {
        mutation('write', tmp)
        let done = 0
        while (done < chunk.length) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten
      }
    mutation('fsync', tmp)
    await handle.sync()
  } catch (error) {
    await handle.close()
    await fsp.rm(tmp, {force: true})
    throw error
  }
  await handle.close()
  return tmp
}

/**
 * Replaces (or creates) `path` atomically with `data`: temp file, fsync, rename, fsync folder. For files `lora`
 * owns (state, config, captions it created, tags.txt).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await renameTempIntoPlace(await writeTemp(path, data), path)
}

/** Renames the fsynced temp file `tmp` over `path` (removing it on failure), then fsyncs the folder. */
async function renameTempIntoPlace(tmp: string, path: string): Promise<void> {
  try {
    mutation('rename', tmp, path)
    await fsp.rename(tmp, path)
  } catch (error) {
    await fsp.rm(tmp, {force: true})
    throw error
  }
  await fsyncDir(dirname(path))
}

/**
 * Creates `path` with `data`, failing with EEXIST if anything is already there: temp file, fsync, hard link
 * into place (atomic and exclusive), unlink temp, fsync folder. A reader never sees a partial file.
 */
export async function createFileExclusive(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = await writeTemp(path, data)
  await linkTempIntoPlace(tmp, path)
}

async function linkTempIntoPlace(tmp: string, path: string): Promise<void> {
  try {
    mutation('link', path)
    await fsp.link(tmp, path)
  } finally {
    mutation('unlink', tmp)
    await fsp.rm(tmp, {force: true})
  }
  await fsyncDir(dirname(path))
}

/**
 * Copies `src` to a new file `dest` (EEXIST if `dest` exists): a copy-on-write clone where the file system
 * supports it (`COPYFILE_FICLONE`, e.g. btrfs, XFS), a plain copy otherwise. It appears at `dest` only complete,
 * fsynced, and the folder is fsynced after. (Journaled batches use placeFileBatch and flush at the end instead.)
 * `src` must be a regular file (openCopySource: never a symbolic link, FIFO or device).
 * @throws NotRegularFileError when `src` is not a regular file; ENOENT when it is missing; EEXIST when `dest` exists
 */
export async function copyFileExclusive(src: string, dest: string): Promise<void> {
  const source = openCopySource(src)
  const tmp = tempPathFor(dest)
  try {
    mutation('copy', tmp)
    await fsp.copyFile(source.from, tmp, fsConstants.COPYFILE_FICLONE | fsConstants.COPYFILE_EXCL)
    source.check()
  } catch (error) {
    await fsp.rm(tmp, {force: true})
    throw error
  } finally {
    source.close()
  }
  try {
    const handle = await fsp.open(tmp, 'r+')
    try {
      mutation('fsync', tmp)
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch (error) {
    await fsp.rm(tmp, {force: true})
    throw error
  }
  await linkTempIntoPlace(tmp, dest)
}

/**
 * Hard-links `src` at `dest`, then fsyncs the folder. Only a regular file is linked (requireLinkedRegular).
 * @throws NotRegularFileError when `src` is not a regular file (nothing is left at `dest`); EEXIST when `dest`
 *   exists; EXDEV across file systems
 */
export async function linkExclusive(src: string, dest: string): Promise<void> {
  requireRegularAt(src)
  mutation('link', dest)
  await fsp.link(src, dest)
  requireLinkedRegular(src, dest)
  await fsyncDir(dirname(dest))
}

/**
 * @throws NotRegularFileError when something other than a regular file is at `path` (lstat: a symbolic link is not
 *   followed); nothing there is left to the caller's own call to fail on
 */
function requireRegularAt(path: string): void {
  const st = lstatIfExistsSync(path)
  if (st && !st.isFile()) throw new NotRegularFileError(path, kindOf(st) as Exclude<FileKind, 'file'>)
}

/**
 * After link(2) made `dest` another name of what was at `src` (link never follows a symbolic link: a link, FIFO or
 * device there is linked itself, and `src` may have been replaced since it was checked): removes `dest` unless it
 * is a regular file.
 * @throws NotRegularFileError naming `src` when `dest` was removed
 */
function requireLinkedRegular(src: string, dest: string): void {
  const st = fs.lstatSync(dest)
  if (st.isFile()) return
  mutation('unlink', dest)
  fs.rmSync(dest, {force: true})
  throw new NotRegularFileError(src, kindOf(st) as Exclude<FileKind, 'file'>)
}

/** A regular file opened to be copied (openCopySource). */
interface CopySource {
  /** A path that reaches the opened file, for the kernel's copy (a copy-on-write clone, copy_file_range). */
  readonly from: string
  /** Called after the copy. @throws Error when `from` no longer named the opened file (where it is a plain path) */
  check(): void
  close(): void
}

/** Whether `/proc/self/fd/<fd>` reaches an open file (Linux with /proc mounted); decided at the first copy. */
let procFdPaths: boolean | undefined

/**
 * Opens `src`, a file to be copied, as openRegularForReadSync opens (never through a symbolic link at the last
 * component, never blocking: a FIFO, device, socket or folder is refused before any read), so that a copy never
 * reads a file outside the dataset through a link and never blocks on a FIFO. The copy itself is still the
 * kernel's (copyFile: a clone or copy_file_range, no bytes through lora): on Linux it reads `/proc/self/fd/<fd>`,
 * exactly the opened file; elsewhere `src` itself, and `check` refuses a copy of a file put there since.
 * @throws NotRegularFileError for anything but a regular file; ENOENT when nothing is there; the file system's
 *   error otherwise
 */
function openCopySource(src: string): CopySource {
  const opened = openRegularNoFollowSync(src)
  if (!opened) throw missingFile(src)
  procFdPaths ??= process.platform === 'linux' && fs.existsSync(`/proc/self/fd/${opened.fd}`)
  const {fd, st} = opened
  return {
    from: procFdPaths ? `/proc/self/fd/${fd}` : src,
    check() {
      if (procFdPaths) return
      const now = fs.lstatSync(src, {throwIfNoEntry: false})
      if (now?.dev !== st.dev || now.ino !== st.ino)
        throw new Error(`${src} changed while it was being copied; the copy was not kept`)
    },
    close: () => fs.closeSync(fd),
  }
}

/** The ENOENT error of opening `path` when it is missing, as the file system would give it. */
function missingFile(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), {
    code: 'ENOENT',
    syscall: 'open',
    path,
  })
}

/**
 * `copyFileExclusive` / `linkExclusive` without their fsyncs, as synchronous calls: for the many small images of a
 * journaled `init` (flushed together by flushFiles at the end), 5 thread-pool round trips per image were most of
 * its time. `mode` `copy`: clone or copy to a temp file, then link it at `dest`; `link`: hard-link `src` at `dest`.
 * Only a regular `src` is read or linked (openCopySource, requireLinkedRegular): never a symbolic link, FIFO,
 * device or folder.
 * @throws NotRegularFileError when `src` is not a regular file (nothing is left at `dest`); ENOENT when it is
 *   missing; EEXIST when `dest` exists; EXDEV when a link crosses file systems
 */
export function placeFileBatch(src: string, dest: string, mode: 'copy' | 'link'): void {
  if (mode === 'link') {
    requireRegularAt(src)
    mutation('link', dest)
    fs.linkSync(src, dest)
    requireLinkedRegular(src, dest)
    return
  }
  const source = openCopySource(src)
  const tmp = tempPathFor(dest)
  try {
    mutation('copy', tmp)
    fs.copyFileSync(source.from, tmp, fsConstants.COPYFILE_FICLONE | fsConstants.COPYFILE_EXCL)
    source.check()
    mutation('link', dest)
    fs.linkSync(tmp, dest)
  } finally {
    source.close()
    mutation('unlink', tmp)
    fs.rmSync(tmp, {force: true})
  }
}

/**
 * Copies `src` to a new file `dest` in place (a copy-on-write clone where the file system has one, else
 * `copy_file_range`: the kernel copies, no bytes pass through lora; EEXIST when `dest` exists), without a temp file
 * or fsync: only for a staging folder, whose files appear under their final names when the folder is renamed into
 * place (`renameOwned`) after `flushFiles`; a kill before that leaves only the staging folder. On the thread pool:
 * callers run several at once (creating a file waits on the file system's journal more than on a CPU). Only a
 * regular `src` is read (openCopySource).
 * @throws NotRegularFileError when `src` is not a regular file; ENOENT when it is missing; EEXIST when `dest` exists
 */
export async function copyFileIntoStaging(src: string, dest: string): Promise<void> {
  const source = openCopySource(src)
  try {
    mutation('copy', dest)
    await fsp.copyFile(source.from, dest, fsConstants.COPYFILE_FICLONE | fsConstants.COPYFILE_EXCL)
    source.check()
  } finally {
    source.close()
  }
}

/** The errors of link(2) that mean "no hard link here": copy instead (another file system, none, the link limit). */
const LINK_REFUSED = ['EXDEV', 'EPERM', 'EOPNOTSUPP', 'ENOTSUP', 'ENOSYS', 'EMLINK'] as const

/**
 * True when `src` may be hard-linked into an export: a regular file (never a symbolic link, `lstat`) with no other
 * link. A file that already has another name (an image of a dataset made with `lora init --link`, whose other name
 * is the user's original, or one linked into an earlier export) is copied instead, so that nothing done to the
 * export can reach the user's originals.
 */
function mayHardLink(src: string): boolean {
  const st = fs.lstatSync(src, {throwIfNoEntry: false})
  return st !== undefined && st.isFile() && st.nlink === 1
}

/**
 * Checks that the link just made at `dest` is `src`'s file (same device and inode, a regular file): `src` could have
 * been replaced (by a symbolic link, say) between the check and the link. Removes `dest` and throws otherwise.
 * @throws Error naming both paths
 */
function checkLinked(src: string, dest: string): void {
  const made = fs.lstatSync(dest)
  const now = fs.lstatSync(src, {throwIfNoEntry: false})
  if (made.isFile() && now !== undefined && now.isFile() && now.dev === made.dev && now.ino === made.ino) return
  mutation('unlink', dest)
  fs.rmSync(dest, {force: true})
  throw new Error(`${src} changed while it was being linked to ${dest}; nothing was left at ${dest}`)
}

/**
 * Hard-links `src` at `dest` when it may be linked (mayHardLink) and the link is checked to be `src`'s file
 * (checkLinked); false when it may not, or the file system refuses (LINK_REFUSED): the caller copies instead.
 * @throws EEXIST when `dest` exists; the file system's error otherwise
 */
function linkIfAllowed(src: string, dest: string): boolean {
  if (!mayHardLink(src)) return false
  try {
    mutation('link', dest)
    fs.linkSync(src, dest)
    checkLinked(src, dest)
    return true
  } catch (error) {
    if (!isCode(error, ...LINK_REFUSED)) throw error
    return false
  }
}

/**
 * Hard-links `src` at `dest` in a staging folder (as `copyFileIntoStaging`), or copies it when `src` may not be
 * linked (mayHardLink: it has another link already) or a link is not possible there (LINK_REFUSED: another file
 * system, a file system without hard links, `src` at its link limit).
 * @returns `linked`, or `copied` when it fell back to a copy
 * @throws EEXIST when `dest` exists; the file system's error otherwise
 */
export async function linkFileIntoStaging(src: string, dest: string): Promise<'linked' | 'copied'> {
  if (linkIfAllowed(src, dest)) return 'linked'
  await copyFileIntoStaging(src, dest)
  return 'copied'
}

/**
 * `--link` into an existing folder (an export with --force): a hard link of `src` at `dest`, or, as
 * linkFileIntoStaging, a copy (through placeFileBatch) when a link may not or cannot be made.
 * @returns `linked`, or `copied` when it fell back to a copy
 * @throws EEXIST when `dest` exists; the file system's error otherwise
 */
export function placeFileBatchLinkOrCopy(src: string, dest: string): 'linked' | 'copied' {
  if (linkIfAllowed(src, dest)) return 'linked'
  placeFileBatch(src, dest, 'copy')
  return 'copied'
}

/**
 * Creates `path` with `data` in place (EEXIST when it exists), without a temp file or fsync: as `copyFileIntoStaging`.
 * Node's callback `writeFile` (open, write, close on the thread pool; no FileHandle object per file).
 */
export async function writeFileIntoStaging(path: string, data: string | Uint8Array): Promise<void> {
  mutation('open', path)
  mutation('write', path)
  await new Promise<void>((done, fail) => {
    fs.writeFile(path, data, {flag: 'wx'}, (error) => (error ? fail(error) : done()))
  })
}

/**
 * Batch writes for journaled changes (many caption files at once). The journal already holds the new content,
 * fsynced, so nothing here needs to be durable file by file: a kill or power cut before the caller's final
 * `flushFiles` leaves the journal, whose replay rewrites every file.
 *
 * Replaces files `lora` owns: each new content goes to a temp file beside its target (synchronous calls, ~10×
 * faster than the thread pool for small files; no fsync each), which is at once renamed over the target, so a
 * reader sees the old file or the new one, never a missing or torn one.
 *
 * Speed: freeing the replaced file's inode is most of a replacement's cost (on ext4 mounted with `discard` it
 * waits for the disk to discard the freed block), and when the rename drops the last reference, Linux frees it
 * inside the rename, while the folder is locked, so no two replacements overlap. On a local Linux file system
 * (holdsReplacedFiles) the replacer therefore holds the old file (an O_PATH descriptor: nothing is opened or
 * read) across the rename and closes it on the thread pool: the inode is freed there, outside the folder lock and
 * in parallel with the next replacements. At most MAX_CLOSES_IN_FLIGHT descriptors are held; `replace` returns a
 * promise to wait on when that many are. Measured with bench/vocabulary.bench.js (10,000 captions, ext4 with
 * `discard`, 2 cores): 2.2 s → 1.27 s for `lora tags rename`. Tried and slower: unlinking the target first,
 * writing every temp file before the renames, the thread pool for the writes, and 2–6 worker threads (at best
 * −9 %, as the renames share the folder lock).
 *
 * One caller, strictly sequential: await each returned promise before the next `replace`, then `finish`.
 */
export class BatchReplacer {
  /** Held old files whose close has not completed (64 measured best of 64/256/1,024). */
  static readonly MAX_CLOSES_IN_FLIGHT = 64
  /** How many replaced files were held across their rename (for tests and diagnostics). */
  held = 0
  private inFlight = 0
  private waiter: {level: number; resume: () => void} | undefined
  /** Whether old files are held, per folder (decided once per folder). */
  private readonly holdIn = new Map<string, boolean>()

  /**
   * Replaces `path` (a file `lora` owns) with `data`: temp file, then rename over `path`.
   * @returns undefined, or a promise the caller must await before the next call (too many closes in flight)
   * @throws the file system's error (ENOSPC, EACCES, ...); the temp file is removed first
   */
  replace(path: string, data: string): Promise<void> | undefined {
    const tmp = writeTempSync(path, data)
    const old = this.holds(dirname(path)) ? holdForClose(path) : undefined
    try {
      mutation('rename', tmp, path)
      fs.renameSync(tmp, path)
    } catch (error) {
      fs.rmSync(tmp, {force: true})
      if (old !== undefined) closeQuietly(old)
      throw error
    }
    if (old === undefined) return undefined
    this.held++
    this.inFlight++
    // A close error on an O_PATH descriptor means nothing for the file written; it is not reported.
    fs.close(old, () => {
      this.inFlight--
      if (this.waiter && this.inFlight <= this.waiter.level) {
        const {resume} = this.waiter
        this.waiter = undefined
        resume()
      }
    })
    return this.inFlight >= BatchReplacer.MAX_CLOSES_IN_FLIGHT
      ? this.drained(BatchReplacer.MAX_CLOSES_IN_FLIGHT / 2)
      : undefined
  }

  /** Held old files whose close has not yet been reported back. */
  get closing(): number {
    return this.inFlight
  }

  /** Waits until every held old file is closed (their inodes freed). */
  async finish(): Promise<void> {
    if (this.inFlight > 0) await this.drained(0)
  }

  private holds(dir: string): boolean {
    let hold = this.holdIn.get(dir)
    if (hold === undefined) {
      hold = holdsReplacedFiles(dir)
      this.holdIn.set(dir, hold)
    }
    return hold
  }

  /** Resolves once at most `level` closes are in flight. */
  private drained(level: number): Promise<void> {
    return new Promise((resume) => {
      this.waiter = {level, resume}
    })
  }
}

/**
 * Linux local file systems (statfs `f_type`, from linux/magic.h) on which BatchReplacer holds replaced files.
 * Not network file systems: the NFS client cannot rename over a file held open and first moves it aside to
 * `.nfsXXXX` (Linux fs/nfs/dir.c `nfs_rename`), so for a moment the caption would be missing.
 */
const LOCAL_FS_TYPES = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0xf2f52010, // f2fs
  0x2fc12fc1, // zfs
  0xca451a4e, // bcachefs
  0x794c7630, // overlayfs
])

/** True when replaced files in `dir` are held across the rename (Linux, a local file system of LOCAL_FS_TYPES). */
export function holdsReplacedFiles(dir: string): boolean {
  if (process.platform !== 'linux') return false
  try {
    return LOCAL_FS_TYPES.has(Number(fs.statfsSync(dir).type))
  } catch {
    return false
  }
}

/**
 * Like BatchReplacer.replace, but creates `path` exclusively (EEXIST when anything is there): temp file, link, unlink.
 * An empty file (the new caption of an untagged image) is created in place with O_EXCL: it cannot be seen half
 * written, and one file creation instead of two halves the cost of `init`'s captions.
 */
export function createFileBatch(path: string, data: string): void {
  if (data === '') {
    mutation('open', path)
    fs.closeSync(fs.openSync(path, 'wx'))
    return
  }
  const tmp = writeTempSync(path, data)
  try {
    mutation('link', path)
    fs.linkSync(tmp, path)
  } finally {
    mutation('unlink', tmp)
    fs.rmSync(tmp, {force: true})
  }
}

/** Writes `data` to a new temp file beside `path` (no fsync; see BatchReplacer) and returns its path. */
function writeTempSync(path: string, data: string): string {
  const tmp = tempPathFor(path)
  mutation('open', tmp)
  const fd = fs.openSync(tmp, 'wx')
  try {
    mutation('write', tmp)
    fs.writeSync(fd, data)
  } catch (error) {
    fs.closeSync(fd)
    fs.rmSync(tmp, {force: true})
    throw error
  }
  fs.closeSync(fd)
  return tmp
}

/** Linux `O_PATH` (asm-generic/fcntl.h; the value on every architecture Node supports): holds without opening. */
const O_PATH = 0o10000000

/**
 * Holds the file a replacement is about to drop, so that its inode outlives the rename (see BatchReplacer):
 * an O_PATH descriptor, which neither opens nor reads the file (no side effect on a FIFO or device) and needs no
 * read permission; O_NOFOLLOW holds a symlink itself. Returns undefined when there is nothing to hold.
 */
function holdForClose(path: string): number | undefined {
  try {
    return fs.openSync(path, O_PATH | fsConstants.O_NOFOLLOW)
  } catch {
    return undefined
  }
}

/** Closes a descriptor, ignoring errors (on an error path, where the first error is the one to report). */
function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd)
  } catch {
    // nothing to do
  }
}

/**
 * Up to this many files, a batch is flushed by an fsync of each file (concurrently, on the thread pool) rather than by
 * `sync -f`: syncfs flushes everything written to the file system by anyone, and starting the `sync` process costs
 * a fork of this one, both of which outweigh a few fsyncs (a `lora tag` writes 2–4 files).
 */
const FSYNC_EACH_MAX = 64

/**
 * Makes batch-written files durable: for a small batch (≤ 64 files), an fsync of each file; for a larger one, one
 * `sync -f` (syncfs) per folder's file system where coreutils has it, else an fsync of each file; then an fsync of
 * each folder. When the files were fsynced one by one, the folders' own ancestors are fsynced too (up to the root):
 * a folder made for this batch (an export's destination, a dataset's `output/`) is then durable in its parent, as
 * syncfs makes it.
 */
export async function flushFiles(paths: readonly string[]): Promise<void> {
  const dirs = [...new Set(paths.map((p) => dirname(p)))]
  const fsyncEach = process.platform !== 'linux' || paths.length <= FSYNC_EACH_MAX || !(await syncFileSystems(dirs))
  if (fsyncEach) await Promise.all(paths.map((path) => fsyncFile(path)))
  for (const dir of fsyncEach ? withAncestors(dirs) : dirs) await fsyncDir(dir)
}

/** One `sync -f` (syncfs) per file system the folders are on; false when coreutils' `sync` cannot do it. */
async function syncFileSystems(dirs: readonly string[]): Promise<boolean> {
  // Loaded here, not at start-up: only large batches use it (node:child_process costs ~3 ms to load).
  const {spawnSync} = await import('node:child_process')
  const synced = new Set<number>()
  for (const dir of dirs) {
    const dev = fs.statSync(dir).dev
    if (synced.has(dev)) continue
    if (spawnSync('sync', ['-f', dir], {stdio: 'ignore'}).status !== 0) return false
    synced.add(dev)
  }
  return true
}

/** The folders and every folder above each, up to the root, deepest first, each once. */
function withAncestors(dirs: readonly string[]): string[] {
  const all = new Set<string>()
  for (let dir of dirs) {
    for (;;) {
      all.add(dir)
      const parent = dirname(dir)
      if (parent === dir) break
      dir = parent
    }
  }
  return [...all].sort((a, b) => b.length - a.length)
}

/**
 * Opens a file just written read-only and fsyncs it. Never through a symbolic link and never blocking on a FIFO
 * put there since (`O_NOFOLLOW | O_NONBLOCK`: the open or the fsync then fails, and the error is the caller's).
 */
async function fsyncFile(path: string): Promise<void> {
  const handle = await fsp.open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK)
  try {
    mutation('fsync', path)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Reads a UTF-8 text file synchronously, or undefined when it does not exist (ENOENT, or ENOTDIR: a parent is a
 * file); fast path for many small files.
 * @throws the file system's error for anything else (EACCES, EISDIR, EIO, ...)
 */
export function readTextIfExistsSync(path: string): string | undefined {
  try {
    return fs.readFileSync(path, 'utf8')
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return undefined
    throw withPath(error, path, 'read')
  }
}

/** What stands at a path where a regular file was expected (the kinds of core/containment.ts `OddFileKind`). */
export type FileKind = 'file' | 'symlink' | 'folder' | 'fifo' | 'device' | 'socket' | 'other'

/** The kind of file a Stats (or a directory entry) describes (from lstat, a symbolic link is `symlink`). */
export function kindOf(
  st: Pick<
    fs.Stats,
    'isFile' | 'isSymbolicLink' | 'isDirectory' | 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket'
  >,
): FileKind {
  if (st.isFile()) return 'file'
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isDirectory()) return 'folder'
  if (st.isFIFO()) return 'fifo'
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device'
  if (st.isSocket()) return 'socket'
  return 'other'
}

/**
 * A file that lora would read, write or delete is not a regular file: a symbolic link, folder, FIFO, device or
 * socket (README "Safety model", rule 1). `code` is `ENOTREG`, `kind` what is there; callers turn it into an
 * error naming the file and what to do (core/containment.ts `oddFileError`).
 */
export class NotRegularFileError extends Error {
  readonly code = 'ENOTREG'
  constructor(
    readonly path: string,
    readonly kind: Exclude<FileKind, 'file'>,
  ) {
    super(`${path} is not a regular file (${kind})`)
  }
}

/**
 * Reads a file lora expects to be a regular file it may own (a caption, state.json, tags.txt, the journal) as
 * UTF-8, or undefined when nothing is there (ENOENT, or ENOTDIR: a parent is a file). Never follows a symbolic
 * link at the last component and never blocks: it opens with `O_NOFOLLOW | O_NONBLOCK` (a FIFO opens at once, a
 * link fails) and checks the opened file with fstat before reading, so a FIFO, device, socket or folder is refused
 * without being read (a caption linked to `/dev/zero` or made a FIFO cannot hang or exhaust the process).
 * Synchronous (bulk edits read thousands of small captions). At most WHOLE_READ_MAX_BYTES.
 * @throws NotRegularFileError for anything but a regular file; FileTooLargeError past WHOLE_READ_MAX_BYTES; the file
 *   system's error otherwise (EACCES, EIO, ...)
 */
export function readRegularTextIfExistsSync(path: string): string | undefined {
  return readRegularBytesIfExistsSync(path)?.toString('utf8')
}

/**
 * The most lora reads of a file it reads whole (state.json, the journal, tags.txt, its caches, an image to decode)
 * unless the reader sets a smaller cap: V8's longest string, 512 MiB less 24 bytes on a 64-bit system
 * (`buffer.constants.MAX_STRING_LENGTH`), since a longer file could not be decoded as text anyway. A larger file (a
 * stranger's dataset may hold one padded to gigabytes) is refused by its size before any byte is read, instead of
 * being read into memory and then failing. A 100,000-image state.json is about 40 MB (each embedded prompt kept in it
 * is at most 10,000 characters: core/generation-prompt.ts).
 */
export const WHOLE_READ_MAX_BYTES = Math.min(512 * 2 ** 20, bufferConstants.MAX_STRING_LENGTH)

/** A file larger than the reader takes (`readRegularBytesIfExistsSync`'s `maxBytes`); nothing of it was read. */
export class FileTooLargeError extends Error {
  readonly code = 'ETOOLARGE'
  constructor(
    readonly path: string,
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(`${path} is ${mib(size)}, more than lora reads for it (${mib(maxBytes)})`)
  }
}

/** `512 MiB`, `1.8 GiB`: a size in bytes, for messages. */
function mib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.ceil(bytes / 2 ** 20)} MiB`
}

/**
 * `readRegularTextIfExistsSync`, returning the bytes (for captions, whose encoding is checked by
 * core/caption-encoding.ts before they are used as text).
 * @param options.maxBytes the most it reads (default WHOLE_READ_MAX_BYTES): a larger file is refused before any byte
 *   is read (a caption, a terminal preview of an image padded to gigabytes, from a stranger's dataset)
 * @throws NotRegularFileError for anything but a regular file; FileTooLargeError past `maxBytes`; the file system's
 *   error otherwise (EACCES, EIO, ...)
 */
export function readRegularBytesIfExistsSync(path: string, options: {maxBytes?: number} = {}): Buffer | undefined {
  const opened = openRegularNoFollowSync(path)
  if (!opened) return undefined
  try {
    const maxBytes = options.maxBytes ?? WHOLE_READ_MAX_BYTES
    if (opened.size > maxBytes) throw new FileTooLargeError(path, opened.size, maxBytes)
    return fs.readFileSync(opened.fd)
  } finally {
    fs.closeSync(opened.fd)
  }
}

/**
 * After an `O_NOFOLLOW | O_NONBLOCK` open of `path` failed: returns when nothing is there (ENOENT, ENOTDIR).
 * O_NOFOLLOW on a symbolic link fails with ELOOP (EMLINK on some BSDs): what is there is looked at.
 * @throws NotRegularFileError when something other than a regular file is there; `error` otherwise
 */
function noFollowOpenFailed(error: unknown, path: string): void {
  if (isCode(error, 'ENOENT', 'ENOTDIR')) return
  if (isCode(error, 'ELOOP', 'EMLINK', 'EISDIR', 'ENXIO', 'EOPNOTSUPP')) {
    const st = lstatIfExistsSync(path)
    if (st && !st.isFile()) throw new NotRegularFileError(path, kindOf(st) as Exclude<FileKind, 'file'>)
  }
  throw error
}

/** @throws NotRegularFileError when `st` (of the opened `path`) is not a regular file (a FIFO, device, folder) */
function requireRegular(st: fs.Stats, path: string): void {
  if (!st.isFile()) throw new NotRegularFileError(path, kindOf(st) as Exclude<FileKind, 'file'>)
}

/**
 * Opens a regular file for reading without following a symbolic link at the last component and without blocking
 * (a FIFO, device, socket or folder is refused before any read), and fstats it.
 * @returns the descriptor (the caller closes it), its size and its fstat, or undefined when nothing is there
 *   (ENOENT, ENOTDIR)
 * @throws NotRegularFileError for anything but a regular file; the file system's error otherwise
 */
function openRegularNoFollowSync(path: string): {fd: number; size: number; st: fs.Stats} | undefined {
  let fd: number
  try {
    fd = fs.openSync(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK)
  } catch (error) {
    noFollowOpenFailed(error, path)
    return undefined
  }
  try {
    const st = fs.fstatSync(fd)
    requireRegular(st, path)
    return {fd, size: st.size, st}
  } catch (error) {
    fs.closeSync(fd)
    throw error
  }
}

/** A regular file opened for reading parts of it (`openRegularForReadSync`). */
export interface RegularFileReader {
  /** Its size in bytes (from fstat of the opened file). */
  readonly size: number
  /** Up to `length` bytes from `offset` (fewer at the end of the file; none past it). */
  read(offset: number, length: number): Buffer
  close(): void
}

/**
 * Opens a file for bounded reads at chosen offsets (image metadata: a few chunk headers and text chunks, never the
 * whole of a huge file), as `readRegularBytesIfExistsSync` opens: never through a symbolic link at the last
 * component, never blocking, a FIFO, device, socket or folder refused before any read.
 * @returns undefined when nothing is there (ENOENT, ENOTDIR)
 * @throws NotRegularFileError for anything but a regular file; the file system's error otherwise
 */
export function openRegularForReadSync(path: string): RegularFileReader | undefined {
  const opened = openRegularNoFollowSync(path)
  if (!opened) return undefined
  const {fd: open, size} = opened
  return {
    size,
    read(offset, length) {
      const want = Math.max(0, Math.min(length, size - offset))
      const buffer = Buffer.alloc(want)
      let got = 0
      while (got < want) {
        const n = fs.readSync(open, buffer, got, want - got, offset + got)
        if (n === 0) break
        got += n
      }
      return buffer.subarray(0, got)
    },
    close() {
      fs.closeSync(open)
    },
  }
}

/**
 * A read stream of a regular file, opened as `openRegularForReadSync` opens (never through a symbolic link at the
 * last component, never a FIFO or device): for streaming a file into a zip without reading it whole.
 * @throws NotRegularFileError for anything but a regular file; ENOENT when nothing is there; the file system's
 *   error otherwise
 */
export function openRegularReadStream(path: string): NodeJS.ReadableStream {
  const opened = openRegularNoFollowSync(path)
  if (!opened) throw missingFile(path)
  return createReadStream(path, {fd: opened.fd, highWaterMark: 1 << 20})
}

/**
 * Writes a stream of chunks to `path` through a temp file beside it (one `write` mutation per chunk), fsyncs it,
 * then moves it into place: rename (replacing `path`) when `replace`, else a hard link that fails with EEXIST when
 * something is there; then fsyncs the folder. A kill at any instant leaves `path` absent, or its old content, or
 * the complete new one; never a part (the temp file is removed by `removeTempFiles`).
 */
export async function writeStreamToFile(
  path: string,
  source: AsyncIterable<Uint8Array>,
  options: {replace: boolean},
): Promise<void> {
  const tmp = await writeTemp(path, source)
  if (!options.replace) return linkTempIntoPlace(tmp, path)
  await renameTempIntoPlace(tmp, path)
}

/** `readRegularTextIfExistsSync`, for async callers. */
export async function readRegularTextIfExists(path: string): Promise<string | undefined> {
  return Promise.resolve().then(() => readRegularTextIfExistsSync(path))
}

/**
 * The metadata of `path` itself (a symbolic link is not followed), or undefined when nothing is there (ENOENT,
 * ENOTDIR).
 * @throws the file system's error for anything else
 */
export function lstatIfExistsSync(path: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(path)
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return undefined
    throw error
  }
}

/**
 * `path` resolved as the kernel would reach it: the real path (every symbolic link followed, `..` applied) of its
 * nearest existing ancestor, joined with the components that do not exist yet. For checks of where a write would
 * land before anything is written (README "Safety model", rules 1 and 3). `path` must be absolute.
 * @throws the file system's error for anything but a missing component (EACCES, ELOOP, ...)
 */
export function resolveReal(path: string): string {
  const rest: string[] = []
  for (let at = resolve(path); ;) {
    try {
      return join(fs.realpathSync.native(at), ...rest.reverse())
    } catch (error) {
      if (!isCode(error, 'ENOENT', 'ENOTDIR') || dirname(at) === at) throw error
      rest.push(basename(at))
      at = dirname(at)
    }
  }
}

/**
 * Where a symbolic link leads, found without opening anything: the real path of its target (every link followed,
 * as realpath does it: lstat and readlink only) and the kind of file there (lstat). No file is opened or read, so
 * a FIFO or device at the end cannot block and nothing outside is read (lora validate reports links this way).
 * @returns undefined when the link leads nowhere lora can reach (dangling, a loop, a folder it may not search)
 */
export function linkTargetSync(path: string): {real: string; kind: FileKind} | undefined {
  try {
    const real = fs.realpathSync.native(path)
    return {real, kind: kindOf(fs.lstatSync(real))}
  } catch {
    return undefined
  }
}

/**
 * Gives a system error the path it is about when the system left it out (a read of a folder fails with EISDIR and
 * no path), so the error printer (errors.ts fromSystemError) can name the file. Returns the same error.
 */
export function withPath(error: unknown, path: string, syscall: string): unknown {
  if (isSystemError(error) && !error.path) Object.assign(error, {path, syscall: error.syscall ?? syscall})
  return error
}

/**
 * Reads a file's bytes synchronously, or undefined when it does not exist (ENOENT, or ENOTDIR: a parent is a file);
 * for caption files, whose encoding core/caption-encoding.ts decides.
 * @throws the file system's error for anything else (EACCES, EISDIR, EIO, ...)
 */
export function readBytesIfExistsSync(path: string): Uint8Array | undefined {
  try {
    return fs.readFileSync(path)
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return undefined
    throw error
  }
}

/**
 * Reads a file's bytes, or undefined when it does not exist (ENOENT, or ENOTDIR: a parent is a file).
 * @throws the file system's error for anything else (EACCES, EISDIR, EIO, ...)
 */
export async function readBytesIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return await fsp.readFile(path)
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return undefined
    throw error
  }
}

/** Removes a file and fsyncs its folder. Missing files are not an error. */
export async function removeFile(path: string): Promise<void> {
  mutation('unlink', path)
  await fsp.rm(path, {force: true})
  await fsyncDir(dirname(path))
}

/**
 * Removes a file synchronously, without the folder fsync: only for a signal handler that must release the writer
 * lock before the process exits (store/interrupts.ts). Missing files are not an error.
 */
export function removeFileSync(path: string): void {
  mutation('unlink', path)
  fs.rmSync(path, {force: true})
}

/**
 * A file being appended to: a download's `.part` file (services/models.ts). `size` is its length in bytes (what
 * it held when opened plus what was written since).
 */
export interface AppendFile {
  readonly path: string
  readonly size: number
  /** Appends `chunk` (one `write` mutation per call). */
  write(chunk: Uint8Array): Promise<void>
  /** fsyncs what was written. */
  sync(): Promise<void>
  close(): Promise<void>
}

/**
 * Opens `path` for appending, creating it when missing (never through a symbolic link: `O_NOFOLLOW`; never blocking
 * on a FIFO: `O_NONBLOCK`), and checks it is a regular file.
 * @throws NotRegularFileError when something else is there; the file system's error otherwise
 */
export async function openAppendFile(path: string): Promise<AppendFile> {
  mutation('open', path)
  let handle: fsp.FileHandle
  try {
    handle = await fsp.open(
      path,
      // O_NONBLOCK: a FIFO there fails at once (ENXIO without a reader) instead of blocking until one comes.
      fsConstants.O_WRONLY |
        fsConstants.O_APPEND |
        fsConstants.O_CREAT |
        (fsConstants.O_NOFOLLOW ?? 0) |
        (fsConstants.O_NONBLOCK ?? 0),
      0o644,
    )
  } catch (error) {
    // A link there fails with ELOOP, a FIFO with ENXIO: named as what they are (NotRegularFileError).
    noFollowOpenFailed(error, path)
    throw error
  }
  let size: number
  try {
    const st = await handle.stat()
    if (!st.isFile()) throw new NotRegularFileError(path, kindOf(st) as Exclude<FileKind, 'file'>)
    size = st.size
  } catch (error) {
    await handle.close()
    throw error
  }
  return {
    path,
    get size() {
      return size
    },
    async write(chunk: Uint8Array) {
      mutation('write', path)
      let done = 0
      while (done < chunk.length) {
        const {bytesWritten} = await handle.write(chunk, done, chunk.length - done)
        done += bytesWritten
      }
      size += chunk.length
    },
    async sync() {
      mutation('fsync', path)
      await handle.sync()
    },
    close: () => handle.close(),
  }
}

/**
 * Opens a regular file for reads at any offset (core/onnx-shape.ts `ByteSource`), without following a symbolic
 * link. `close` must be called.
 * @throws NotRegularFileError when `path` is not a regular file; the file system's error otherwise (ENOENT, ...)
 */
export function openByteSource(path: string): {
  size: number
  read(offset: number, length: number): Uint8Array
  close(): void
} {
  const fd = fs.openSync(path, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0))
  const st = fs.fstatSync(fd)
  if (!st.isFile()) {
    fs.closeSync(fd)
    throw new NotRegularFileError(path, kindOf(st) as Exclude<FileKind, 'file'>)
  }
  return {
    size: st.size,
    read(offset: number, length: number) {
      const buffer = Buffer.alloc(length)
      const n = fs.readSync(fd, buffer, 0, length, offset)
      return buffer.subarray(0, n)
    },
    close: () => fs.closeSync(fd),
  }
}

/** Renames `from` to `to` (replacing `to`); used only for files `lora` owns. */
export async function renameOwned(from: string, to: string): Promise<void> {
  mutation('rename', from, to)
  await fsp.rename(from, to)
}

/**
 * Deletes the temp files and temp folders (TEMP_MARKER; a folder such as an optimised model copy being made, with
 * everything in it) that killed processes left in `dir`: those whose creator (the pid in the name,
 * `.lora-tmp-<pid>-...`) no longer runs on this host. A symbolic link is removed, never followed. Returns how many
 * were removed.
 */
export async function removeTempFiles(dir: string): Promise<number> {
  let entries: fs.Dirent[]
  // Never through a symbolic link (one planted at `.lora-tagger/cache` would lead outside the dataset).
  if (!lstatIfExistsSync(dir)?.isDirectory()) return 0
  try {
    entries = await fsp.readdir(dir, {withFileTypes: true})
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return 0
    throw error
  }
  let n = 0
  for (const entry of entries) {
    const name = entry.name
    if (!name.startsWith(TEMP_MARKER)) continue
    const pid = Number(name.slice(TEMP_MARKER.length).split('-')[0])
    if (pid === process.pid || isAlive(pid)) continue
    if (entry.isDirectory()) await removeTree(join(dir, name))
    else {
      mutation('unlink', join(dir, name))
      await fsp.rm(join(dir, name), {force: true})
    }
    n++
  }
  return n
}

/**
 * sha256 of a file's bytes, as lowercase hex. Files up to 64 MiB are read in one synchronous call (no stream
 * buffers to collect: on 1,000 photos this was most of `init`'s garbage-collection time); larger ones stream.
 */
export async function sha256File(path: string): Promise<string> {
  return sha256Of(path, undefined, fs.statSync(path).size)
}

/**
 * `sha256File` of a file lora expects to be regular (an image a journal places), opened as openRegularForReadSync
 * opens: never through a symbolic link at the last component, never blocking on a FIFO or device.
 * @returns the hex digest
 * @throws NotRegularFileError for anything but a regular file; ENOENT when nothing is there; the file system's
 *   error otherwise
 */
export async function sha256RegularFile(path: string): Promise<string> {
  const opened = openRegularNoFollowSync(path)
  if (!opened) throw missingFile(path)
  return sha256Of(path, opened.fd, opened.size)
}

/** sha256File's reading: `path`, or the descriptor `fd` opened on it (closed here), of `size` bytes. */
async function sha256Of(path: string, fd: number | undefined, size: number): Promise<string> {
  const hash = createHash('sha256')
  if (size <= 64 * 2 ** 20) {
    try {
      return hash.update(fs.readFileSync(fd ?? path)).digest('hex')
    } finally {
      if (fd !== undefined) fs.closeSync(fd)
    }
  }
  for await (const chunk of createReadStream(path, {fd, highWaterMark: 1 << 20})) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/**
 * Reads a UTF-8 text file, or returns undefined when it does not exist (ENOENT, or ENOTDIR: a parent is a file).
 * @throws the file system's error for anything else (EACCES, EISDIR, EIO, ...)
 */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(path, 'utf8')
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return undefined
    throw withPath(error, path, 'read')
  }
}

/** True when the path exists (any kind of file). */
export async function exists(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path)
    return true
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return false
    throw error
  }
}

/** Node's file metadata and folder entry types, for the layers above (which do not import `node:fs`). */
export type {Dirent, Stats} from 'node:fs'

/**
 * The metadata of `path` (symbolic links followed), or undefined when nothing is there: ENOENT, or ENOTDIR (a
 * parent is a file).
 * @throws the file system's error for anything else (EACCES, ELOOP, EIO, ...)
 */
export async function statIfExists(path: string): Promise<fs.Stats | undefined> {
  try {
    return await fsp.stat(path)
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return undefined
    throw error
  }
}

/** `statIfExists`, synchronous (for per-image checks in tight loops). */
export function statIfExistsSync(path: string): fs.Stats | undefined {
  try {
    return fs.statSync(path)
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return undefined
    throw error
  }
}

/**
 * The folder a new file at `path` would be created in, and its metadata: `path` itself when it exists, else its
 * nearest existing ancestor (symbolic links followed: an output folder that is a link to another disk reports that
 * disk's device). For checks made before anything is created (`dev` for cross-device links, write permission).
 */
export async function nearestExisting(path: string): Promise<{path: string; stats: fs.Stats}> {
  let current = path
  for (;;) {
    const stats = await statIfExists(current)
    if (stats) return {path: current, stats}
    const parent = dirname(current)
    if (parent === current) throw new Error(`No existing folder above ${path}`)
    current = parent
  }
}

/**
 * Why lora cannot create or change files in the folder `dir` (or, when it does not exist yet, in its nearest
 * existing ancestor): `EACCES` (no write permission), `EROFS` (read-only file system) or `EPERM`; undefined when
 * it can. Asked with `access(W_OK)`, which sees read-only mounts and permissions (root passes the latter).
 */
export async function writeProblem(dir: string): Promise<{path: string; code: string} | undefined> {
  const {path} = await nearestExisting(dir)
  try {
    await fsp.access(path, fsConstants.W_OK)
    return undefined
  } catch (error) {
    if (isCode(error, 'EACCES', 'EROFS', 'EPERM')) return {path, code: (error as NodeJS.ErrnoException).code!}
    throw error
  }
}

/**
 * The metadata of `path` (symbolic links followed).
 * @throws the file system's error (ENOENT when missing, EACCES, ...)
 */
export async function statPath(path: string): Promise<fs.Stats> {
  return fsp.stat(path)
}

/**
 * Reads a UTF-8 text file.
 * @throws the file system's error (ENOENT when missing, EACCES, EISDIR, ...)
 */
export async function readText(path: string): Promise<string> {
  try {
    return await fsp.readFile(path, 'utf8')
  } catch (error) {
    throw withPath(error, path, 'read')
  }
}

/**
 * The names in a folder, in the order the file system lists them.
 * @throws the file system's error (ENOENT, ENOTDIR, EACCES, ...)
 */
export async function listDir(dir: string): Promise<string[]> {
  return fsp.readdir(dir)
}

/**
 * The entries of a folder with their types (no stat per entry), in the order the file system lists them.
 * @throws the file system's error (ENOENT, ENOTDIR, EACCES, ...)
 */
export async function listDirEntries(dir: string): Promise<fs.Dirent[]> {
  return fsp.readdir(dir, {withFileTypes: true})
}

/**
 * Removes a folder and everything in it (`rm -r`); nothing when it does not exist. One mutation for the whole
 * tree, and no fsync: for a folder this run made and nothing else uses yet (a dataset's first `.lora-tagger/`
 * when the import was refused).
 */
export async function removeTree(dir: string): Promise<void> {
  mutation('rmtree', dir)
  await fsp.rm(dir, {recursive: true, force: true})
}

/** removeTree, synchronously: only for a signal handler undoing a folder this run made (store/interrupts.ts). */
export function removeTreeSync(dir: string): void {
  mutation('rmtree', dir)
  fs.rmSync(dir, {recursive: true, force: true})
}

/**
 * For an ENOTDIR failure on `path`: the nearest existing ancestor of `path` that is not a folder (the file in the
 * way), or undefined when none is found (or it cannot be looked at).
 */
export function fileInTheWay(path: string): string | undefined {
  for (let dir = dirname(path); dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      const st = fs.statSync(dir, {throwIfNoEntry: false})
      if (st && !st.isDirectory()) return dir
      if (st) return undefined
    } catch {
      // ENOTDIR further up: keep walking.
    }
  }
  return undefined
}

/** True when a process with this pid runs on this host (EPERM: it runs as another user). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return isCode(error, 'EPERM')
  }
}

/**
 * True when `error` is a Node system error (a string errno `code` such as ENOSPC, EACCES, EROFS), as the file
 * system raises them; false for anything else (a bug, a parse error).
 */
export function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  const code = typeof error === 'object' && error !== null ? (error as {code?: unknown}).code : undefined
  return typeof code === 'string' && /^E[A-Z0-9]+$/u.test(code)
}

/** True when `error` is a Node system error with one of the given codes. */
export function isCode(error: unknown, ...codes: string[]): boolean {
  return typeof error === 'object' && error !== null && codes.includes((error as {code?: string}).code ?? '')
}

/**
 * Reads a regular file's bytes without following a symbolic link at the last component and without blocking (as
 * `readRegularBytesIfExistsSync`), asynchronously, so that many reads overlap (the gallery's thumbnails); at most
 * WHOLE_READ_MAX_BYTES.
 * @returns undefined when nothing is there (ENOENT, ENOTDIR)
 * @throws NotRegularFileError for anything but a regular file; FileTooLargeError past WHOLE_READ_MAX_BYTES (nothing
 *   of it read); the file system's error otherwise (EACCES, EIO, ...)
 */
export async function readRegularBytesIfExists(path: string): Promise<Buffer | undefined> {
  let handle: fsp.FileHandle
  try {
    handle = await fsp.open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK)
  } catch (error) {
    noFollowOpenFailed(error, path)
    return undefined
  }
  try {
    const st = await handle.stat()
    requireRegular(st, path)
    if (st.size > WHOLE_READ_MAX_BYTES) throw new FileTooLargeError(path, st.size, WHOLE_READ_MAX_BYTES)
    return await handle.readFile()
  } finally {
    await handle.close()
  }
}

/**
 * Replaces (or creates) a file of derived data that can be made again (a gallery thumbnail or page): a temp file
 * beside `path`, then a rename over it, so a reader sees the old or the new file, never a torn one; no fsync (a
 * power cut may lose it or leave it empty under its name: callers take an empty file for a missing one, and the
 * next run makes it again). The rename replaces whatever entry is at `path` (a
 * symbolic link there is replaced, never written through); callers check that the folder is a real one.
 * @throws the file system's error (ENOSPC, EACCES, ...); the temp file is removed then
 */
export async function replaceDerivedFile(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPathFor(path)
  mutation('open', tmp)
  try {
    mutation('write', tmp)
    await fsp.writeFile(tmp, data, {flag: 'wx'})
    mutation('rename', tmp, path)
    await fsp.rename(tmp, path)
  } catch (error) {
    await fsp.rm(tmp, {force: true})
    throw error
  }
}
