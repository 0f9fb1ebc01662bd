/**
 * The dataset's writer lock, `.lora-tagger/lock`, in the manner of git's `lockfile.h`: created with O_EXCL; its
 * content names the holder (`{pid, host, command, since}`). A lock left by a process that no longer runs on this
 * host is reclaimed; any other held lock makes the second writer fail with DatasetBusyError (exit 5).
 */
import {hostname} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {DatasetBusyError, DatasetError} from '../errors.js'
import {oddFileKindText} from '../core/containment.js'
import {lockReleased, lockTaken} from './interrupts.js'
import {
  createFileExclusive,
  isAlive,
  isCode,
  linkExclusive,
  NotRegularFileError,
  openRegularForReadSync,
  renameOwned,
  removeFile,
  tempPathFor,
} from '../adapters/fs.js'

/** Who holds a lock. */
export interface LockInfo {
  pid: number
  host: string
  command: string
  since: string
}

/** A held lock; `release()` removes it. */
export interface HeldLock {
  release(): Promise<void>
}

/** Name of the lock file inside `.lora-tagger/`. */
export const LOCK_FILE = 'lock'

/**
 * Takes the writer lock.
 * @param metaDir the `.lora-tagger` folder
 * @param command what the holder is doing, shown to a blocked writer (`lora tag`)
 * @throws DatasetBusyError when a live process holds it
 */
export async function acquireLock(metaDir: string, command: string): Promise<HeldLock> {
  const path = join(metaDir, LOCK_FILE)
  const info: LockInfo = {pid: process.pid, host: hostname(), command, since: new Date().toISOString()}
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await createFileExclusive(path, JSON.stringify(info) + '\n')
      // Recorded once it is ours (a stop between changes removes it; one caught mid-creation is left, stale).
      lockTaken(path)
      return {
        release: async () => {
          await removeFile(path)
          lockReleased(path)
        },
      }
    } catch (error) {
      if (!isCode(error, 'EEXIST')) throw error
    }
    const holder = await readLock(path)
    if (!holder) continue
    if (isLive(holder)) throw busyError(holder, path)
    await reclaimStaleLock(path, holder)
  }
  throw new DatasetBusyError(
    'The dataset lock keeps changing hands.',
    'Another lora process is running; retry when it has finished.',
  )
}

/**
 * Removes the lock `stale` (whose holder is dead) found at `path`: moves the file aside under a temp name (atomic),
 * then checks that what it moved is that stale lock. If another writer reclaimed it first and created its own
 * lock in between, that live lock is linked back into place and this writer stops with DatasetBusyError, so two
 * writers never both hold the lock. (The window left: a third writer creating the lock in the instant between the
 * move and the link back.) A kill after the move leaves only a temp file of a dead pid, which the next writer's
 * removeTempFiles deletes.
 * @throws DatasetBusyError when the file at `path` was no longer the stale lock
 */
export async function reclaimStaleLock(path: string, stale: LockInfo): Promise<void> {
  const aside = tempPathFor(path)
  try {
    await renameOwned(path, aside)
  } catch (error) {
    if (isCode(error, 'ENOENT')) return
    throw error
  }
  const moved = await readLock(aside)
  if (moved && !sameHolder(moved, stale)) {
    try {
      await linkExclusive(aside, path)
    } catch (error) {
      if (!isCode(error, 'EEXIST')) {
        await removeFile(aside)
        throw error
      }
    }
    await removeFile(aside)
    throw busyError(moved, path)
  }
  await removeFile(aside)
}

function sameHolder(a: LockInfo, b: LockInfo): boolean {
  return a.pid === b.pid && a.host === b.host && a.since === b.since && a.command === b.command
}

function busyError(holder: LockInfo, path: string): DatasetBusyError {
  return new DatasetBusyError(
    `The dataset is busy: ${holder.command} (pid ${holder.pid} on ${holder.host}) has held it since ${holder.since}.`,
    `Wait for it to finish and retry. If that process is gone, remove ${path}.`,
  )
}

/** The most of a lock file read: a lock lora writes is about 100 bytes; a longer one counts as damaged. */
const MAX_LOCK_BYTES = 64 * 1024

/**
 * Reads a lock file; undefined when it vanished. Locks are created complete (temp file + link), so one whose
 * content is unreadable, or longer than MAX_LOCK_BYTES, was damaged by something else and counts as stale (pid 0).
 * It is opened without following a symbolic link or blocking (the fs adapter's openRegularForReadSync), and at most
 * MAX_LOCK_BYTES are read, so a lock made a FIFO or a link to `/dev/zero` cannot hang or exhaust lora.
 * @throws DatasetError naming the file when it is not a regular file (a symbolic link, FIFO, device or folder);
 *   the file system's error otherwise
 */
export async function readLock(path: string): Promise<LockInfo | undefined> {
  let text: string
  try {
    const reader = openRegularForReadSync(path)
    if (!reader) return undefined
    try {
      text = reader.size > MAX_LOCK_BYTES ? '' : reader.read(0, MAX_LOCK_BYTES).toString('utf8')
    } finally {
      reader.close()
    }
  } catch (error) {
    if (error instanceof NotRegularFileError) throw notRegularLock(path, error.kind)
    throw error
  }
  try {
    const info = JSON.parse(text) as LockInfo
    if (typeof info.pid === 'number' && typeof info.host === 'string') return info
  } catch {
    // fall through
  }
  return {pid: 0, host: hostname(), command: 'a damaged lock', since: 'an unknown time'}
}

/**
 * The error for a lock that is not a regular file: lora neither reads it nor replaces it (a lock it cannot read
 * could be another writer's), and says to remove it.
 * @param path the lock (`…/.lora-tagger/lock`); the message names it from `.lora-tagger/`
 */
function notRegularLock(path: string, kind: NotRegularFileError['kind']): DatasetError {
  const rel = `${basename(dirname(path))}/${basename(path)}`
  return new DatasetError(
    `${rel} is ${oddFileKindText(kind)}, not a regular lock file; lora does not read or write through it, and nothing was done.`,
    `lora creates its lock as a regular file while a command changes the dataset. Make sure no lora command is running on this dataset, remove ${rel}, then rerun the command.`,
  )
}

/** True unless the holder is on this host and its pid no longer exists. */
function isLive(info: LockInfo): boolean {
  return info.host !== hostname() || isAlive(info.pid)
}
