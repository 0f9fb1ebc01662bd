/**
 * The dataset state, `.lora-tagger/state.json` (format documented in README "Dataset files"). It records every
 * imported image and is written one image per line so that a git diff of it shows only the images that changed.
 * Session-only data (the cursor of `lora next`) lives in `session.json` instead, so it never churns the history.
 */
import {DatasetError} from '../errors.js'
import {hasControls} from './terminal-text.js'
import type {GenerationPrompt} from './generation-prompt.js'

/**
 * Tagging status of an image: `pending` (no tags yet), `tagged` (captioned or reviewed by a person), `skipped`,
 * or `auto` (its caption was written by a model, `lora autotag --mode add|replace`, and no person has reviewed it;
 * saving it in `lora next`/`resume` or editing it with `lora tag` makes it `tagged`).
 */
export type ImageStatus = 'pending' | 'tagged' | 'skipped' | 'auto'

/** One imported image. */
export interface ImageRecord {
  /** Stable id, `<prefix><number>`, e.g. `img_0042`. */
  id: string
  /** Its number (the digits of the id). */
  n: number
  /** File name in the output folder, e.g. `img_0042.jpg`. */
  file: string
  /** Path of the original, relative to the dataset folder, `/`-separated. */
  source: string
  /** sha256 of the bytes, lowercase hex. */
  sha256: string
  /** Size in bytes. */
  bytes: number
  /**
   * Modification time of the file in the output folder (ms since the epoch, as `stat` gives it), when lora knows
   * it (images placed by `--link` or `--move`, taken in by `status --rescan`, or rebuilt by `lora repair`); absent
   * in older states and for copies. `status` compares it (and the size) to notice a file changed by hand.
   */
  mtimeMs?: number
  /** Width and height in pixels, as displayed (EXIF orientation applied). */
  width: number
  height: number
  /** Format sharp reports (`jpeg`, `png`, `webp`, `gif`, `tiff`, `heif`, ...). */
  format: string
  status: ImageStatus
  /** The caption's tags as `lora` last wrote or read them (a cache of the caption file). */
  tags: string[]
  /** When the image was last tagged or skipped (ISO 8601), or null. */
  updatedAt: string | null
  /**
   * Why a skipped image was skipped, when a command decided it (`lora curate --apply`: `near-duplicate of img_0004
   * (distance 3)`, `blurry 0.21 < 0.29`); absent for a skip by hand, and dropped when the image is no longer skipped.
   */
  skipReason?: string
  /**
   * The prompt an image generator embedded in the file (core/generation-prompt.ts), read by `lora init`; absent
   * when it has none, and in states written before lora read prompts (then `lora show` reads the file).
   */
  prompt?: GenerationPrompt
}

/** A file that was not imported because its bytes equal an imported image's. */
export interface DuplicateRecord {
  source: string
  sha256: string
  /** Id of the image it duplicates. */
  of: string
}

/** A file that was not imported because it is not a usable image. */
export interface ProblemRecord {
  source: string
  reason: string
}

/** The whole state file. */
export interface DatasetState {
  version: 1
  /** The number the next imported image gets. */
  nextNumber: number
  /** Minimum digits of image numbers, fixed at the first init. */
  padWidth: number
  images: ImageRecord[]
  duplicates: DuplicateRecord[]
  problems: ProblemRecord[]
}

/** An empty state for a new dataset. */
export function emptyState(): DatasetState {
  return {version: 1, nextNumber: 1, padWidth: 4, images: [], duplicates: [], problems: []}
}

/**
 * Serialises the state: a JSON object whose arrays hold one record per line (stable key order), so that tagging
 * one image changes one line.
 */
export function serializeState(state: DatasetState): string {
  const list = (items: readonly object[]) =>
    items.length === 0 ? '[]' : '[\n' + items.map((i) => '    ' + JSON.stringify(i)).join(',\n') + '\n  ]'
  return (
    '{\n' +
    `  "version": ${state.version},\n` +
    `  "nextNumber": ${state.nextNumber},\n` +
    `  "padWidth": ${state.padWidth},\n` +
    `  "images": ${list(state.images.map(orderImage))},\n` +
    `  "duplicates": ${list(state.duplicates)},\n` +
    `  "problems": ${list(state.problems)}\n` +
    '}\n'
  )
}

function orderImage(i: ImageRecord): ImageRecord {
  return {
    id: i.id,
    n: i.n,
    file: i.file,
    source: i.source,
    sha256: i.sha256,
    bytes: i.bytes,
    ...(i.mtimeMs === undefined ? {} : {mtimeMs: i.mtimeMs}),
    width: i.width,
    height: i.height,
    format: i.format,
    status: i.status,
    tags: i.tags,
    updatedAt: i.updatedAt,
    ...(i.skipReason === undefined ? {} : {skipReason: i.skipReason}),
    ...(i.prompt === undefined ? {} : {prompt: i.prompt}),
  }
}

/**
 * Parses state.json text.
 * @throws DatasetError when it is not valid JSON or not a version-1 state
 */
export function parseState(text: string, source = 'state.json'): DatasetState {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (error) {
    throw new DatasetError(
      `${source} is not valid JSON: ${(error as Error).message}`,
      'Restore it from git or a backup, or run `lora repair` to rebuild it from the output folder and the captions (intact).',
    )
  }
  const s = doc as Partial<DatasetState>
  if (!s || typeof s !== 'object' || s.version !== 1 || !Array.isArray(s.images) || typeof s.nextNumber !== 'number') {
    throw new DatasetError(
      `${source} is not a lora state file (version 1).`,
      'Restore it from git or a backup, or run `lora repair` to rebuild it from the output folder and the captions.',
    )
  }
  // Each image once: two records of one id or one file would let edits and counts drift from the captions.
  const ids = new Map<string, number>()
  const files = new Map<string, number>()
  for (let i = 0; i < s.images.length; i++) {
    const problem = imageRecordProblem(s.images[i])
    if (problem !== undefined)
      throw new DatasetError(
        `${source}: images[${i}]${problem}.`,
        'Fix that record (README "Dataset files" describes it), or restore state.json from git or a backup.',
      )
    const {id, file} = s.images[i]
    const twice = ids.has(id)
      ? `.id is also images[${ids.get(id)}]'s`
      : files.has(file)
        ? `.file is also images[${files.get(file)}]'s`
        : undefined
    if (twice !== undefined)
      throw new DatasetError(
        `${source}: images[${i}]${twice}.`,
        'Each image has one record: remove the copy, or restore state.json from git or a backup (`lora repair` rebuilds it from the output folder).',
      )
    ids.set(id, i)
    files.set(file, i)
  }
  // The lists of files not imported: every field a string (they are printed and compared as text).
  for (const [key, fields] of [
    ['duplicates', ['source', 'of']],
    ['problems', ['source', 'reason']],
  ] as const) {
    const list: unknown = s[key]
    if (!Array.isArray(list)) continue // read as none, below
    for (let i = 0; i < list.length; i++) {
      const item = list[i] as Record<string, unknown> | null
      const field = fields.find((f) => typeof item?.[f] !== 'string')
      if (field !== undefined)
        throw new DatasetError(
          `${source}: ${key}[${i}].${field} is not a string.`,
          'Fix that record (README "Dataset files" describes it), or restore state.json from git or a backup.',
        )
    }
  }
  return {
    version: 1,
    nextNumber: s.nextNumber,
    padWidth: typeof s.padWidth === 'number' ? s.padWidth : 4,
    images: s.images,
    duplicates: Array.isArray(s.duplicates) ? s.duplicates : [],
    problems: Array.isArray(s.problems) ? s.problems : [],
  }
}

const STRING_FIELDS = ['id', 'file', 'source', 'sha256'] as const
/** A sha256 as lora records it: lowercase hex. */
const SHA256 = /^[0-9a-f]{64}$/u
const NUMBER_FIELDS = ['n', 'bytes', 'width', 'height'] as const
/** Line terminators a control check does not cover (U+2028, U+2029, NEL is C1). */
const LINE_BREAK = /[\u2028\u2029]/u
const PROMPT_FIELDS = ['positive', 'negative', 'generator'] as const

/**
 * Checks the fields every command reads from an image record, so that a record edited by hand into the wrong shape
 * is named (`state.json: images[3].tags is not a list of strings`) instead of failing later as a bug. Returns what is
 * wrong with it (` is not an object`, `.tags is not a list of strings`: the first problem, in this order), undefined
 * when nothing is. Runs once per record on every load (10,000 records on the way to `lora next`'s prompt), mostly
 * before V8 has optimized it: no string, closure or array is made for a good record.
 */
function imageRecordProblem(record: unknown): string | undefined {
  if (!record || typeof record !== 'object' || Array.isArray(record)) return ' is not an object'
  const r = record as Record<string, unknown>
  for (let k = 0; k < STRING_FIELDS.length; k++) {
    const value = r[STRING_FIELDS[k]]
    if (typeof value !== 'string' || value === '') return `.${STRING_FIELDS[k]} is not a non-empty string`
  }
  // Names in lora's caches are made from it (the gallery's `<sha256>-<size>.webp`): anything but 64 hex digits could
  // lead such a name out of its folder.
  if (!SHA256.test(r.sha256 as string)) return '.sha256 is not 64 lowercase hex digits'
  // The id goes into commit messages (one trailer line per field: a line break in it could forge `Lora-Undoes:`),
  // messages and names; lora makes it from the prefix (config.yaml refuses a control character there) and a number.
  const id = r.id as string
  if (hasControls(id) || LINE_BREAK.test(id)) return '.id holds a control, bidi or line-break character'
  for (let k = 0; k < NUMBER_FIELDS.length; k++) {
    const value = r[NUMBER_FIELDS[k]]
    if (typeof value !== 'number' || !Number.isFinite(value)) return `.${NUMBER_FIELDS[k]} is not a number`
  }
  if (typeof r.format !== 'string') return '.format is not a string'
  if (r.updatedAt !== null && typeof r.updatedAt !== 'string') return '.updatedAt is not a string or null'
  if (r.status !== 'pending' && r.status !== 'tagged' && r.status !== 'skipped' && r.status !== 'auto')
    return '.status is not pending, tagged, skipped or auto'
  const tags = r.tags
  if (!Array.isArray(tags)) return '.tags is not a list of strings'
  for (let k = 0; k < tags.length; k++) if (typeof tags[k] !== 'string') return '.tags is not a list of strings'
  if (r.skipReason !== undefined && typeof r.skipReason !== 'string') return '.skipReason is not a string'
  if (r.prompt !== undefined) {
    const p = r.prompt as Record<string, unknown> | null
    if (!p || typeof p !== 'object' || Array.isArray(p)) return '.prompt is not an object'
    for (let k = 0; k < PROMPT_FIELDS.length; k++)
      if (typeof p[PROMPT_FIELDS[k]] !== 'string') return `.prompt.${PROMPT_FIELDS[k]} is not a string`
  }
  return undefined
}

/** Session data that is not part of the dataset's history: where `lora next` continues. */
export interface SessionState {
  /** Id of the image `lora next` handled last, or null. */
  cursor: string | null
  /** When the session last changed (ISO 8601), or null. */
  updatedAt: string | null
}

/** Parses session.json; anything unreadable gives a fresh session (it holds nothing that can be lost). */
export function parseSession(text: string | undefined): SessionState {
  try {
    const doc = text === undefined ? {} : (JSON.parse(text) as Partial<SessionState>)
    return {
      cursor: typeof doc.cursor === 'string' ? doc.cursor : null,
      updatedAt: typeof doc.updatedAt === 'string' ? doc.updatedAt : null,
    }
  } catch {
    return {cursor: null, updatedAt: null}
  }
}
