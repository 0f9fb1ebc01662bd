/**
 * Dataset history in git, the pure part: commit messages `lora` writes, and the tag-level history read back from
 * the caption files' real diffs (so commits made by hand or by other tools count too).
 */
import {diffTags, parseCaption} from './caption.js'

/** Trailer keys of lora's commits. */
export const TRAILER_CHANGE = 'Lora-Change'
export const TRAILER_IMAGES = 'Lora-Images'
/** On an undo commit: the full hash of the commit it undoes (the undo stack of `lora undo`). */
export const TRAILER_UNDOES = 'Lora-Undoes'

/** What a tag edit did to one image (subset of store/caption-files.ts EditResult). */
export interface ImageChange {
  id: string
  added: string[]
  removed: string[]
  status?: string
  statusBefore?: string
}

/**
 * Subject line for tag edits: one image → `tag img_0042: +red hair +smile −hat` (or `skip img_0042`);
 * several → `tag 12 images: +solo −hat` (the union of the changes, at most 8 tags shown).
 */
export function tagSubject(changes: readonly ImageChange[]): string {
  if (changes.length === 1) {
    const c = changes[0]
    const parts = tagParts(c.added, c.removed)
    if (c.status === 'skipped' && c.statusBefore !== 'skipped' && parts.length === 0) return `skip ${c.id}`
    return `tag ${c.id}: ${parts.join(' ') || `status ${c.statusBefore} → ${c.status}`}`
  }
  const added = [...new Set(changes.flatMap((c) => c.added))]
  const removed = [...new Set(changes.flatMap((c) => c.removed))]
  const parts = tagParts(added, removed)
  const shown = parts.length > 8 ? [...parts.slice(0, 8), `… (${parts.length - 8} more)`] : parts
  return `tag ${changes.length} images: ${shown.join(' ') || 'status changes'}`
}

function tagParts(added: readonly string[], removed: readonly string[]): string[] {
  return [...added.map((t) => `+${t}`), ...removed.map((t) => `\u2212${t}`)]
}

/**
 * The full commit message: subject, blank line, trailers naming the change kind, the images touched and, for an
 * undo, the commit it undoes (`Lora-Undoes: <full hash>`). Each part is kept on its line: a line break in one
 * (which state.json and caption checks already refuse in ids and tags) becomes a space, so no text can add a
 * trailer line of its own.
 */
export function commitMessage(subject: string, kind: string, images: readonly string[], undoes?: string): string {
  const lines = [oneLine(subject), '', `${TRAILER_CHANGE}: ${oneLine(kind)}`]
  if (images.length > 0) lines.push(`${TRAILER_IMAGES}: ${images.map(oneLine).join(' ')}`)
  if (undoes) lines.push(`${TRAILER_UNDOES}: ${oneLine(undoes)}`)
  return lines.join('\n') + '\n'
}

/** `text` with every run of line breaks (CR, LF, VT, FF, NEL, U+2028, U+2029) made one space. */
function oneLine(text: string): string {
  return text.replace(/[\n\v\f\r\u0085\u2028\u2029]+/gu, ' ')
}

/**
 * The `git log` format `parseLog` reads: a record start, then hash, ISO date, author, subject and the Lora-Change
 * trailer, the fields and the record start marked with `mark`. A commit's subject, author and trailers are anyone's
 * text and may hold any separator byte (a subject holding `\x1eCOMMIT\x1f<hash>…` forged a whole commit in `lora
 * log` when the marks were fixed): `mark` is a random word chosen for each run, which no commit can contain but by
 * chance (services/history.ts logMark).
 */
export function logFormat(mark: string): string {
  const field = `%x1f${mark}%x1f`
  return `%x1eCOMMIT${mark}%x1f%H${field}%aI${field}%an${field}%s${field}%(trailers:key=Lora-Change,valueonly,separator=%x2c)`
}

/** One commit with the caption files it changed. */
export interface LoggedCommit {
  hash: string
  date: string
  author: string
  subject: string
  /** The `Lora-Change` trailer ('' for commits lora did not make). */
  loraChange: string
  /**
   * The files' changed lines; `tooLarge`, when a version of the file before or after the commit is larger than lora
   * reads for a caption (its size in bytes; the lines of such a version are not read: `removed` or `added` is then
   * empty, the other side holds the whole other version).
   */
  files: {path: string; removed: string[]; added: string[]; tooLarge?: number}[]
}

/** Parses `git log --format=<logFormat(mark)> -p --unified=0` output. */
export function parseLog(text: string, mark: string): LoggedCommit[] {
  const out: LoggedCommit[] = []
  for (const record of text.split(`\x1eCOMMIT${mark}\x1f`).slice(1)) {
    const newline = record.indexOf('\n')
    const head = newline < 0 ? record : record.slice(0, newline)
    const [hash, date, author, subject, loraChange] = head.split(`\x1f${mark}\x1f`)
    const commit: LoggedCommit = {hash, date, author, subject, loraChange: (loraChange ?? '').trim(), files: []}
    let file: LoggedCommit['files'][number] | undefined
    let oldPath = ''
    for (const line of newline < 0 ? [] : record.slice(newline + 1).split('\n')) {
      if (line.startsWith('diff --git ')) {
        file = undefined
        oldPath = ''
      } else if (!file && line.startsWith('--- ')) {
        oldPath = line.slice(4) === '/dev/null' ? '' : line.slice(4).replace(/^a\//u, '').replace(/\t$/u, '')
      } else if (!file && line.startsWith('+++ ')) {
        const newPath = line.slice(4) === '/dev/null' ? '' : line.slice(4).replace(/^b\//u, '').replace(/\t$/u, '')
        file = {path: newPath || oldPath, removed: [], added: []}
        commit.files.push(file)
      } else if (file && line.startsWith('-')) file.removed.push(line.slice(1))
      else if (file && line.startsWith('+')) file.added.push(line.slice(1))
    }
    out.push(commit)
  }
  return out
}

/** One tag-level change of one image in one commit (`lora log`): tags added and removed, and a skip or unskip. */
export interface TagEvent {
  /** The commit's full hash, its author date (ISO 8601), author name and subject. */
  commit: string
  date: string
  author: string
  subject: string
  /** The image's id. */
  id: string
  added: string[]
  removed: string[]
  /**
   * When the commit skipped the image or took the skip back: its status before and after (`pending` → `skipped`,
   * `skipped` → `pending`); both null otherwise (a change between pending and tagged follows from the tags).
   */
  statusBefore: string | null
  status: string | null
  /**
   * When the commit skipped the image with a reason recorded in its state record (`lora curate --apply`:
   * `near-duplicate of img_0004 (distance 3)`): that reason; null otherwise.
   */
  skipReason: string | null
  /**
   * Only when a version of the caption before or after the commit is larger than lora reads for a caption (a
   * repository from elsewhere): the caption file (as git names it) and that version's size in bytes; the change is
   * then not read, and `added`, `removed` are empty. Absent otherwise.
   */
  tooLarge?: {path: string; size: number}
}

/**
 * Tag events from parsed commits, newest first: for each caption file a commit changed, the tags added and removed
 * between its old and new text; and, when `statePath` (the state file's repository-relative path) is given and the
 * commit changed it, each image the commit moved into or out of `skipped` (joined to that image's tag event, or an
 * event of its own after the commit's tag events). `imageOf` maps a caption path to an image id (undefined: not a
 * caption).
 */
export function tagEvents(
  commits: readonly LoggedCommit[],
  imageOf: (path: string) => string | undefined,
  separator: string,
  statePath?: string,
): TagEvent[] {
  const events: TagEvent[] = []
  for (const c of commits) {
    const mine: TagEvent[] = []
    const base = {commit: c.hash, date: c.date, author: c.author, subject: c.subject}
    for (const f of c.files) {
      const id = f.path === statePath ? undefined : imageOf(f.path)
      if (!id) continue
      if (f.tooLarge !== undefined) {
        const tooLarge = {path: f.path, size: f.tooLarge}
        mine.push({...base, id, added: [], removed: [], statusBefore: null, status: null, skipReason: null, tooLarge})
        continue
      }
      const {added, removed} = diffTags(
        parseCaption(f.removed.join('\n'), separator),
        parseCaption(f.added.join('\n'), separator),
      )
      if (added.length === 0 && removed.length === 0) continue
      mine.push({...base, id, added, removed, statusBefore: null, status: null, skipReason: null})
    }
    const state = statePath === undefined ? undefined : c.files.find((f) => f.path === statePath)
    for (const change of state ? skipChanges(state.removed, state.added) : []) {
      const event = mine.find((e) => e.id === change.id)
      const skip = {statusBefore: change.from, status: change.to, skipReason: change.reason ?? null}
      if (event) Object.assign(event, skip)
      else mine.push({...base, id: change.id, added: [], removed: [], ...skip})
    }
    events.push(...mine)
  }
  return events
}

/** `"status":"skipped"` as `serializeState` writes it (JSON.stringify: no spaces). */
const SKIPPED = '"status":"skipped"'

/**
 * Images moved into or out of `skipped` by a change of state.json, from the lines its diff removed and added (one
 * image record a line, `    {"id":…},`, as core/state.ts `serializeState` writes them), in the order of the added
 * lines, with the reason a skip's new record gives (`skipReason`). Lines that are not image records (or not JSON) are passed over; images added or removed are not changes.
 */
export function skipChanges(
  removed: readonly string[],
  added: readonly string[],
): {id: string; from: string; to: string; reason?: string}[] {
  // Only records where either side says "skipped" matter: those are found first, then only they are parsed.
  const ids = new Set([...records(removed, SKIPPED), ...records(added, SKIPPED)].map((r) => r.id))
  if (ids.size === 0) return []
  const before = new Map(records(removed, undefined, ids).map((r) => [r.id, r.status]))
  const changes: {id: string; from: string; to: string; reason?: string}[] = []
  for (const r of records(added, undefined, ids)) {
    const from = before.get(r.id)
    if (from !== undefined && from !== r.status && (from === 'skipped' || r.status === 'skipped'))
      changes.push({id: r.id, from, to: r.status, ...(r.skipReason === undefined ? {} : {reason: r.skipReason})})
  }
  return changes
}

/** The start of an image-record line: `{"id":"<JSON string>"`. */
const RECORD_ID = /^\{"id":("(?:[^"\\]|\\.)*")/u

/**
 * The `{id, status, skipReason}` of the image-record lines (those holding `needle`, and of an id in `ids`, when
 * given).
 */
function records(
  lines: readonly string[],
  needle?: string,
  ids?: ReadonlySet<string>,
): {id: string; status: string; skipReason?: string}[] {
  const out: {id: string; status: string; skipReason?: string}[] = []
  for (const line of lines) {
    if (needle !== undefined && !line.includes(needle)) continue
    const text = line.trim().replace(/,$/u, '')
    const head = RECORD_ID.exec(text)
    if (!head) continue
    if (ids && !ids.has(JSON.parse(head[1]) as string)) continue
    let record: unknown
    try {
      record = JSON.parse(text)
    } catch {
      continue
    }
    const {id, status, skipReason} = record as {id?: unknown; status?: unknown; skipReason?: unknown}
    if (typeof id === 'string' && typeof status === 'string')
      out.push({id, status, ...(typeof skipReason === 'string' ? {skipReason} : {})})
  }
  return out
}
