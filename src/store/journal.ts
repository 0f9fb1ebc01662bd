/**
 * The redo journal that makes every multi-file change all-or-nothing. A change is planned in full first
 * (which images go where, the new caption texts, the new state), written to `.lora-tagger/journal.json`
 * atomically, then applied op by op; each op is idempotent, so after a kill at any instant the next `lora`
 * command replays the journal from the start and ends in the planned state. Only then is the journal removed.
 * Format documented in README "Dataset files".
 */
import {dirname, join} from 'node:path'
import {DatasetError} from '../errors.js'
import {groupDigits} from '../core/progress.js'
import {
  checkJournalPaths,
  isInside,
  journalOpPaths,
  journalSourceError,
  oddFileError,
  type OddFileKind,
  oddFileKindText,
  tooLargeFileError,
} from '../core/containment.js'
import {
  BatchReplacer,
  copyFileExclusive,
  placeFileBatch,
  createFileBatch,
  exists,
  FileTooLargeError,
  flushFiles,
  isCode,
  kindOf,
  linkExclusive,
  lstatIfExistsSync,
  makeDir,
  NotRegularFileError,
  readRegularTextIfExists,
  readRegularBytesIfExistsSync,
  removeFile,
  resolveReal,
  removeTempFiles,
  sha256RegularFile,
  writeFileAtomic,
} from '../adapters/fs.js'
import {beginChange, endChange, throwIfStopRequested} from './interrupts.js'
import {plural} from '../core/plural.js'

/** How an image reaches the output folder. */
export type PlaceMode = 'copy' | 'move' | 'link'

/** Place an original image at its new name (copy, move or hard link); never replaces an existing file. */
export interface PlaceImageOp {
  op: 'place-image'
  /** Original, relative to the dataset folder. */
  source: string
  /** New path, relative to the dataset folder. */
  target: string
  sha256: string
  mode: PlaceMode
}

/** Create a new file (exclusive: an existing file with other content is an error, never replaced). */
export interface CreateFileOp {
  op: 'create'
  path: string
  text: string
}

/** Replace a file `lora` owns (atomic rename). */
export interface WriteFileOp {
  op: 'write'
  path: string
  text: string
}

export type JournalOp = PlaceImageOp | CreateFileOp | WriteFileOp

/**
 * The commit the change's command makes once it is applied (store/transaction.ts CommitRequest): recorded in the
 * journal so that a change interrupted and finished by the next command is committed as its own command would have
 * (an undo keeps its `Lora-Undoes` trailer).
 */
export interface JournalCommit {
  subject: string
  kind: string
  images: string[]
  undoes?: string
}

/** The journal file: what is being done and every op needed to finish it. */
export interface Journal {
  version: 1
  /** What the change is, for messages: `init`, `tag`, ... */
  kind: string
  createdAt: string
  ops: JournalOp[]
  /** Present when the change is to be committed with this message once applied (absent in older journals). */
  commit?: JournalCommit
}

/** Name of the journal file inside `.lora-tagger/`. */
export const JOURNAL_FILE = 'journal.json'

/**
 * Runs a change as a journaled transaction: writes the journal, applies the ops in order, removes the journal.
 *
 * @param root dataset folder (op paths are relative to it)
 * @param metaDir the `.lora-tagger` folder
 * @param onOp called after each op (progress)
 * @throws DatasetError when an op cannot be applied without overwriting a file `lora` did not create, or a
 *   source image is missing; the journal then stays, and the next command retries it.
 */
export async function runJournal(
  root: string,
  metaDir: string,
  journal: Journal,
  onOp?: (op: JournalOp) => void,
): Promise<void> {
  const path = join(metaDir, JOURNAL_FILE)
  if (await exists(path))
    throw new DatasetError(
      'An unfinished change is still pending in .lora-tagger/journal.json.',
      'Run any lora command to finish it first.',
    )
  // From here on a stop signal waits until the change is finished (store/interrupts.ts); a transaction that began
  // the in-flight period itself ends it after its commit.
  await asChange(describeJournal(journal), async () => {
    await writeFileAtomic(path, JSON.stringify(journal) + '\n')
    await applyJournal(root, journal, {onOp})
    await removeFile(path)
  })
}

/**
 * Runs `work` as the change in flight (store/interrupts.ts): a stop signal meanwhile waits for it, and is acted on
 * once it is done (throwIfStopRequested). A change already in flight (a transaction began it) is left to its owner.
 */
async function asChange(description: string, work: () => Promise<void>): Promise<void> {
  const started = beginChange(description)
  try {
    await work()
  } catch (error) {
    if (started) endChange(false)
    throw error
  }
  if (started) endChange()
  if (started) throwIfStopRequested(description)
}

/**
 * What a change does, in a user's words, for the messages of an interrupt: `moving 2,000 images` (a change that
 * places images), else `the tag change (12 files)`.
 */
export function describeJournal(journal: Pick<Journal, 'kind' | 'ops'>): string {
  const places = journal.ops.filter((op): op is PlaceImageOp => op.op === 'place-image')
  const count = (n: number, noun: string) => `${groupDigits(n)} ${plural(n, noun)}`
  if (places.length > 0)
    return `${{move: 'moving', copy: 'copying', link: 'linking'}[places[0].mode] ?? 'placing'} ${count(places.length, 'image')}`
  return `the ${journal.kind} change (${count(journal.ops.length, 'file')})`
}

/**
 * Finishes an interrupted change, if `.lora-tagger/journal.json` exists: replays every op, removes leftover temp
 * files, then the journal, then calls `afterFinished` (the dataset commits the change there when the journal
 * records its commit), all as the change in flight for a stop signal. Returns the journal's kind, or undefined when
 * there was nothing to do. A replayed `place-image` op places only a regular source file (never a symbolic link,
 * FIFO, device or folder) and only an image with the op's sha256 (README "Safety model").
 * @throws DatasetError when the journal is damaged or not a regular file, names a path outside the dataset, or an
 *   op cannot be applied (a source that is not a regular file or lacks the op's sha256: journalSourceError); the
 *   journal then stays
 */
export async function recoverJournal(
  root: string,
  metaDir: string,
  outputDir: string,
  afterFinished?: (journal: Journal) => Promise<void>,
): Promise<string | undefined> {
  const path = join(metaDir, JOURNAL_FILE)
  let text: string | undefined
  try {
    text = await readRegularTextIfExists(path)
  } catch (error) {
    if (error instanceof NotRegularFileError)
      throw oddFileError(`.lora-tagger/${JOURNAL_FILE}`, error.kind, 'journal file')
    if (error instanceof FileTooLargeError)
      throw tooLargeFileError(`.lora-tagger/${JOURNAL_FILE}`, error.size, error.maxBytes, 'journal file')
    throw error
  }
  if (text === undefined) {
    return undefined
  }
  const journal = parseJournal(text)
  // Every path it names must lie inside the dataset, lexically and resolved, before any op is applied (README
  // "Safety model", rule 1): a journal from elsewhere could name any file to create, replace or remove.
  checkJournalPaths(journal, `.lora-tagger/${JOURNAL_FILE}`)
  checkResolvedOpPaths(root, journal.ops)
  checkOpSources(root, journal.ops)
  await asChange(`the interrupted change (${describeJournal(journal)})`, async () => {
    // A journal found on disk may not be lora's: each placed image is checked against the op's sha256.
    await applyJournal(root, journal, {verify: true})
    await removeTempFiles(outputDir)
    await removeTempFiles(metaDir)
    await removeFile(path)
    // Its commit, if it was to have one: still part of the change a stop signal waits for.
    await afterFinished?.(journal)
  })
  return journal.kind
}

/**
 * Parses journal.json and checks its shape: `{version: 1, kind, ops: [...]}`, each op one of `place-image`
 * (`source`, `target`, `sha256` strings, `mode` copy/move/link), `create` or `write` (`path`, `text` strings). The
 * journal is written atomically, so one that does not parse or has another shape was damaged or edited by something
 * else; nothing of it is applied.
 * @throws DatasetError naming the file and, for a bad op, its index and field
 */
export function parseJournal(text: string): Journal {
  const file = `.lora-tagger/${JOURNAL_FILE}`
  const hint =
    'lora applies nothing from it. Inspect it: if the change it describes is complete (or unwanted), remove it; otherwise restore it from a backup.'
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (error) {
    throw new DatasetError(`${file} is damaged: ${(error as Error).message}`, hint)
  }
  const fail = (what: string): never => {
    throw new DatasetError(`${file} is damaged: ${what}.`, hint)
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return fail('it is not a JSON object')
  const j = doc as Record<string, unknown>
  if (j.version !== 1) fail('"version" is not 1')
  if (typeof j.kind !== 'string') fail('"kind" is not a string')
  if (!Array.isArray(j.ops)) return fail('"ops" is not a list')
  if (j.commit !== undefined) {
    const c = j.commit as Record<string, unknown> | null
    if (!c || typeof c !== 'object' || Array.isArray(c)) fail('"commit" is not an object')
    else {
      if (typeof c.subject !== 'string' || c.subject === '') fail('commit.subject is not a non-empty string')
      if (typeof c.kind !== 'string' || c.kind === '') fail('commit.kind is not a non-empty string')
      if (!Array.isArray(c.images) || c.images.some((i) => typeof i !== 'string'))
        fail('commit.images is not a list of strings')
      if (c.undoes !== undefined && (typeof c.undoes !== 'string' || !/^[0-9a-f]{40,64}$/u.test(c.undoes)))
        fail('commit.undoes is not a commit hash')
    }
  }
  j.ops.forEach((op: unknown, i) => {
    const where = `ops[${i}]`
    if (!op || typeof op !== 'object' || Array.isArray(op)) return fail(`${where} is not an object`)
    const o = op as Record<string, unknown>
    const strings = (...keys: string[]) => {
      for (const key of keys)
        if (typeof o[key] !== 'string' || (key !== 'text' && o[key] === ''))
          fail(`${where}.${key} is not a${key === 'text' ? '' : ' non-empty'} string`)
    }
    if (o.op === 'place-image') {
      strings('source', 'target', 'sha256')
      if (o.mode !== 'copy' && o.mode !== 'move' && o.mode !== 'link') fail(`${where}.mode is not copy, move or link`)
    } else if (o.op === 'create' || o.op === 'write') strings('path', 'text')
    else fail(`${where}.op ${JSON.stringify(o.op)} is not an operation lora knows (place-image, create, write)`)
  })
  return doc as Journal
}

/**
 * Applies every op. Text files, copies and links are written in the batch manner (no fsync each; see
 * adapters/fs.ts) and flushed together at the end, before the caller removes the journal. Moves are made durable
 * one by one, because each removes an original. After a power cut before the flush, a copied image may be torn;
 * the replay then refuses to overwrite it (it cannot tell it from a file someone else put there) and says so.
 * With `options.verify` (a journal found on disk), every placed image is hashed and must have its op's sha256; a change
 * this process planned is not hashed again (its sha256 were just taken from the sources).
 */
async function applyJournal(
  root: string,
  journal: Journal,
  options: {onOp?: (op: JournalOp) => void; verify?: boolean} = {},
): Promise<void> {
  const {onOp, verify = false} = options
  const written: string[] = []
  const folders = new Set<string>()
  const replacer = new BatchReplacer()
  for (const [index, op] of journal.ops.entries()) {
    if (op.op === 'place-image') await placeImage(root, op, folders, {index, verify})
    else if (op.op === 'create') createOwned(root, op)
    else await replacer.replace(join(root, op.path), op.text)
    written.push(join(root, op.op === 'place-image' ? op.target : op.path))
    onOp?.(op)
  }
  await replacer.finish()
  if (written.length > 0) await flushFiles(written)
}

/**
 * Checks that every path the ops name, resolved (symbolic links in its folders followed), lies inside the dataset
 * folder; the ops' own files are not followed (a link there is refused where it is read or replaced).
 * @throws DatasetError naming the journal and the op
 */
function checkResolvedOpPaths(root: string, ops: readonly JournalOp[]): void {
  const realRoot = resolveReal(root)
  const seen = new Map<string, boolean>()
  for (const [index, op] of ops.entries()) {
    for (const {field, path} of journalOpPaths(op)) {
      const folder = dirname(join(root, path as string))
      let inside = seen.get(folder)
      if (inside === undefined) {
        inside = isInside(resolveReal(folder), realRoot)
        seen.set(folder, inside)
      }
      if (!inside) {
        throw new DatasetError(
          `.lora-tagger/${JOURNAL_FILE}: op #${index + 1} (${op.op}) has ${field} "${String(path)}", whose folder leads outside the dataset folder (through a symbolic link); nothing was done.`,
          `lora writes its journal for one change and never through links to elsewhere; this one was not written by lora. Remove .lora-tagger/${JOURNAL_FILE}, then rerun the command.`,
        )
      }
    }
  }
}

/**
 * Checks, before any op of a journal found on disk is applied, that every `place-image` source still there is a
 * regular file (lstat: a symbolic link is not followed); a link, FIFO, device or folder is never read, copied or
 * linked into the output folder.
 * @throws DatasetError (journalSourceError) naming the journal, the op and what the source is
 */
function checkOpSources(root: string, ops: readonly JournalOp[]): void {
  for (const [index, op] of ops.entries()) {
    if (op.op !== 'place-image') continue
    const st = lstatIfExistsSync(join(root, op.source))
    if (st && !st.isFile()) throw notRegularSource(index, op, kindOf(st) as OddFileKind)
  }
}

/** journalSourceError for a source that is not a regular file. */
function notRegularSource(index: number, op: PlaceImageOp, kind: OddFileKind): DatasetError {
  return journalSourceError(
    `.lora-tagger/${JOURNAL_FILE}`,
    index,
    op,
    `is ${oddFileKindText(kind)}, not a regular image file; lora does not read, copy or link it`,
  )
}

function createOwned(root: string, op: CreateFileOp): void {
  const path = join(root, op.path)
  try {
    createFileBatch(path, op.text)
  } catch (error) {
    if (!isCode(error, 'EEXIST')) throw error
    let current: string | undefined
    try {
      current = readRegularBytesIfExistsSync(path, {maxBytes: Buffer.byteLength(op.text)})?.toString('utf8')
    } catch (readError) {
      // A link, FIFO or folder in the way is not what lora created: never read through it; nor a file larger than
      // the text lora meant to write (a planted caption of gigabytes is not read into memory to be compared).
      if (!(readError instanceof NotRegularFileError || readError instanceof FileTooLargeError)) throw readError
    }
    if (current !== op.text) {
      throw new DatasetError(
        `${op.path} already exists and lora did not write it; not overwriting it.`,
        `Move ${op.path} out of the way, then rerun the command.`,
      )
    }
  }
}

/**
 * Idempotent: finishes placing one image whatever step a previous run reached. Neither the source nor a target
 * already there is read, copied or linked unless it is a regular file (lstat, and the fs adapter's no-follow,
 * non-blocking opens). With `at.verify`, the image at the target must have the op's sha256 before the op counts as
 * done (and before a moved original is removed); one that does not is removed when it is this op's own (placed now,
 * or another name of the source).
 * @param at the op's index in the journal (for messages) and whether to verify the placed image's sha256
 * @throws DatasetError (journalSourceError) when the source is not a regular file or, verifying, the image lacks the
 *   op's sha256; DatasetError when the target holds another file, or the source is missing
 */
async function placeImage(
  root: string,
  op: PlaceImageOp,
  folders: Set<string>,
  at: {index: number; verify: boolean},
): Promise<void> {
  const src = join(root, op.source)
  const dst = join(root, op.target)
  const dstStat = lstatIfExistsSync(dst)
  let ours = false
  let verified = false
  if (dstStat) {
    const srcStat = lstatIfExistsSync(src)
    ours = dstStat.isFile() && srcStat?.isFile() === true && srcStat.ino === dstStat.ino && srcStat.dev === dstStat.dev
    if (!ours) {
      // A link, FIFO or folder at the target is not what lora placed: never hashed through.
      if (!dstStat.isFile() || (await sha256RegularFile(dst)) !== op.sha256) {
        throw new DatasetError(
          `${op.target} already exists and is not the image lora placed there; not overwriting it.`,
          `Move ${op.target} out of the way, then rerun the command.`,
        )
      }
      verified = true
    }
  } else {
    const srcStat = lstatIfExistsSync(src)
    if (!srcStat) {
      throw new DatasetError(
        `The original ${op.source} is missing, so ${op.target} cannot be created.`,
        `Put ${op.source} back (sha256 ${op.sha256.slice(0, 12)}…), then rerun the command.`,
      )
    }
    if (!srcStat.isFile()) throw notRegularSource(at.index, op, kindOf(srcStat) as OddFileKind)
    if (!folders.has(dirname(dst))) {
      await makeDir(dirname(dst))
      folders.add(dirname(dst))
    }
    // Copies and links are flushed with the batch (the originals stay, so the replay can redo them); a move
    // is made durable before its original is removed.
    try {
      if (op.mode === 'move') await moveByLinkOrCopy(src, dst, op)
      else await placeByModeOrCopy(src, dst, op)
    } catch (error) {
      // Replaced by a link or FIFO since the check above: the fs adapter placed nothing.
      if (error instanceof NotRegularFileError && error.path === src) throw notRegularSource(at.index, op, error.kind)
      throw error
    }
    ours = true
  }
  if (at.verify && !verified && (await sha256RegularFile(dst)) !== op.sha256) {
    if (ours) await removeFile(dst)
    throw journalSourceError(
      `.lora-tagger/${JOURNAL_FILE}`,
      at.index,
      op,
      `does not hold the image the journal records (its sha256 is not ${op.sha256.slice(0, 12)}…)`,
    )
  }
  if (op.mode === 'move') await removeOriginal(src, dst, op)
}

/**
 * Places a copied or linked image in the batch manner. A hard link that cannot be made (EXDEV: the output folder
 * is on another file system; EPERM/ENOTSUP: the file system has no hard links) falls back to a durable copy (copy
 * to a temp file, fsync, link into place: adapters/fs.ts copyFileExclusive), checked against the journal's sha256.
 * `init --link` refuses such a layout before it writes a journal, but a journal written before that check existed
 * (or a disk moved since) still names links, and its replay must finish rather than fail on every command. The
 * original is never touched: a link-mode place never removes it.
 */
async function placeByModeOrCopy(src: string, dst: string, op: PlaceImageOp): Promise<void> {
  try {
    placeFileBatch(src, dst, op.mode as 'copy' | 'link')
    return
  } catch (error) {
    if (op.mode !== 'link' || !isCode(error, 'EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP')) throw error
  }
  await copyFileExclusive(src, dst)
  if ((await sha256RegularFile(dst)) !== op.sha256) {
    throw new DatasetError(
      `The copy ${op.target} does not match its original ${op.source}; the original was kept.`,
      'Check the disk and the original, remove the bad copy, then rerun the command.',
    )
  }
}

async function moveByLinkOrCopy(src: string, dst: string, op: PlaceImageOp): Promise<void> {
  try {
    await linkExclusive(src, dst)
  } catch (error) {
    if (!isCode(error, 'EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP')) throw error
    await copyFileExclusive(src, dst)
  }
  const stSrc = lstatIfExistsSync(src)
  const stDst = lstatIfExistsSync(dst)
  const same = stSrc !== undefined && stDst !== undefined && stSrc.ino === stDst.ino && stSrc.dev === stDst.dev
  if (!same && (await sha256RegularFile(dst)) !== op.sha256) {
    throw new DatasetError(
      `The copy ${op.target} does not match its original ${op.source}; the original was kept.`,
      'Check the disk, remove the bad copy, then rerun the command.',
    )
  }
}

/**
 * Removes a moved image's original once the new file is verified (same inode, or same sha256). An original that is
 * not a regular file (a link or FIFO put there since) is neither hashed nor removed.
 * @throws DatasetError when the original is not a regular file, or no longer matches the placed image
 */
async function removeOriginal(src: string, dst: string, op: PlaceImageOp): Promise<void> {
  const srcStat = lstatIfExistsSync(src)
  if (!srcStat) return
  if (!srcStat.isFile())
    throw new DatasetError(
      `Not removing ${op.source}: it is ${oddFileKindText(kindOf(srcStat) as OddFileKind)} now, not the original moved to ${op.target}.`,
      `Move ${op.source} out of the way, then rerun the command.`,
    )
  const dstStat = lstatIfExistsSync(dst)
  const sameFile = dstStat !== undefined && srcStat.ino === dstStat.ino && srcStat.dev === dstStat.dev
  if (!sameFile) {
    if ((await sha256RegularFile(dst)) !== op.sha256 || (await sha256RegularFile(src)) !== op.sha256) {
      throw new DatasetError(
        `Not removing ${op.source}: it no longer matches the image placed at ${op.target}.`,
        'Compare the two files, then rerun the command.',
      )
    }
  }
  await removeFile(src)
}
