/**
 * Reference vocabularies: big tag lists a user imports (not the dataset's own tags.txt), used for autocomplete.
 *
 * Input formats:
 * - The a1111 tagcomplete CSV (DominikDoom/a1111-sd-webui-tagcomplete `tags/danbooru.csv`): no header, columns
 *   `name,category,post_count,"alias1,alias2"`; count and aliases may be missing. What a category number means
 *   depends on the site the list comes from (core/categories.ts). Aliases starting with `/` are typing shorthands
 *   (`/lh`). Rows no tool can use are left out and counted (readTagcompleteCsv).
 * - Plain text: one tag per line (`#` comments and blank lines ignored).
 *
 * Stored form: `.lora-tagger/reference/<name>.tsv`, one tag per line, `name\tcategory\tcount\taliases` (aliases
 * comma-joined), after a `# lora reference` header line carrying the import's details as JSON.
 */
import {LoraError} from '../errors.js'
import {normalizeTag} from './caption.js'
import {CONTROL_HINT, escapeControls, tagControlProblem} from './terminal-text.js'
import {type CategoryScheme, isCategoryScheme, schemeForFile} from './categories.js'

/** One tag of a reference vocabulary. */
export interface ReferenceTag {
  name: string
  /** Category number, read in the reference's category scheme (core/categories.ts); -1 when none (plain lists). */
  category: number
  /** Post count (popularity), 0 when unknown. */
  count: number
  aliases: string[]
  /** The category scheme of the reference it came from (set when loaded from a stored reference). */
  scheme?: CategoryScheme
}

/**
 * A reference file lora refuses as a whole (exit 1, nothing imported): a tag holding a control or bidi character
 * (names its line), or a file that is not a tagcomplete CSV at all.
 */
export class ReferenceFormatError extends LoraError {
  constructor(message: string, hint: string) {
    super(`${message} Nothing was imported.`, {code: 'reference-format', hint})
  }
}

/** Why the first of `names` (a tag and its aliases) holding a control or bidi character cannot be a tag, if any. */
function controlProblemOf(names: readonly string[]): string | undefined {
  for (const name of names) {
    const problem = tagControlProblem(name)
    if (problem) return problem
  }
  return undefined
}

/** Refuses a row whose tag or alias holds a control or bidi character (README "Safety model"). */
function refuseControls(source: string, line: number, names: readonly string[]): void {
  const problem = controlProblemOf(names)
  if (problem)
    throw new ReferenceFormatError(
      `${source}, line ${line}: ${problem}.`,
      `Remove that character from the file. ${CONTROL_HINT}`,
    )
}

/** A CSV row no tool can use, left out of an import: its line (1-based) and why. */
export interface SkippedRow {
  line: number
  problem: string
}

/** What reading a tagcomplete CSV gave. */
export interface CsvReading {
  /** The usable rows, in file order. */
  tags: ReferenceTag[]
  /** Rows read (blank lines not counted). */
  rows: number
  /** How many rows were unusable and left out. */
  skippedCount: number
  /** The first MAX_SKIPPED_SHOWN of them. */
  skipped: SkippedRow[]
}

/** How many skipped rows a reading keeps (for the warning line and `--json`). */
export const MAX_SKIPPED_SHOWN = 10

/** What csv-parse reports for a record (with `info: true`). */
interface ParsedRecord {
  record: string[]
  info: {lines: number}
}

/**
 * Reads an a1111 tagcomplete CSV with csv-parse (RFC 4180 quoting), leaving out the rows no tool can use and
 * counting them. A usable row has a tag name, a category that is a whole number from 0 to 99, then optionally
 * the post count and the aliases (`name,category,post_count,"alias1,alias2"`). Unusable: an empty name (tagcomplete
 * files have `,0,1983,`), a category that is not such a number, fewer than 2 columns or more than 4 that are not
 * empty (tagcomplete's `extra-quality-tags.csv` ends its rows with `,,`), a quote that is not closed on its line.
 * A post count that is not a number counts as 0 (tagcomplete's extra files put a description there). Like
 * tagcomplete's own parser (`javascript/_utils.js`, `parseCSV`), a row ends at the end of its line, even inside
 * quotes: a broken quote costs one row, not the rest of the file.
 *
 * The file is refused only when it is not this shape at all: no usable row, or more unusable rows than usable ones.
 * @param source the file's name, for messages
 * @throws ReferenceFormatError (nothing imported) when the file is refused, or a tag or alias holds a control or
 *   bidi character (naming its line)
 */
export async function readTagcompleteCsv(text: string, source: string): Promise<CsvReading> {
  const {parse} = await import('csv-parse/sync')
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text
  const options = {relax_column_count: true, skip_empty_lines: true, info: true}
  /** The records in line order; a line csv-parse refused has no fields, and its problem. */
  let records: {fields: string[]; line: number; problem?: string}[] | undefined
  // Fast path: the whole file at once. Any record error, or a quoted field running over a line end, means a broken
  // quote somewhere: then each line is read on its own (about three times slower, only for such files).
  try {
    const parsed = parse(body, options) as unknown as ParsedRecord[]
    if (!parsed.some((r) => r.record.some((f) => f.includes('\n') || f.includes('\r'))))
      records = parsed.map((r) => ({fields: r.record, line: r.info.lines}))
  } catch {
    records = undefined
  }
  if (records === undefined) {
    records = []
    for (const [index, lineText] of body.split(/\r\n|\n|\r/u).entries()) {
      if (lineText.trim() === '') continue
      try {
        const parsed = parse(lineText, options) as unknown as ParsedRecord[]
        if (parsed.length === 1) records.push({fields: parsed[0].record, line: index + 1})
      } catch (error) {
        records.push({fields: [], line: index + 1, problem: quoteProblem(error)})
      }
    }
  }
  const skipped: SkippedRow[] = []
  let skippedCount = 0
  const tags: ReferenceTag[] = []
  let rows = 0
  for (const {fields, line, problem: refused} of records) {
    if (!refused && fields.every((f) => f.trim() === '')) continue
    rows++
    const problem = refused ?? rowProblem(fields)
    if (problem) {
      skippedCount++
      if (skipped.length < MAX_SKIPPED_SHOWN) skipped.push({line, problem})
      continue
    }
    const name = normalizeTag(fields[0])
    const countText = (fields[2] ?? '').trim()
    const aliases = (fields[3] ?? '')
      .split(',')
      .map((a) => normalizeTag(a))
      .filter((a) => a !== '' && a !== name)
    refuseControls(source, line, [name, ...aliases])
    tags.push({
      name,
      category: Number(fields[1].trim()),
      count: /^\d+$/u.test(countText) ? Number(countText) : 0,
      aliases,
    })
  }
  if (tags.length === 0 || skippedCount > tags.length) {
    const shown = skipped.slice(0, 3).map((s) => `line ${s.line}: ${s.problem}`)
    throw new ReferenceFormatError(
      rows === 0
        ? `${source} holds no rows.`
        : `${source} is not an a1111 tagcomplete CSV: ${skippedCount} of ${rows} rows are unusable (${shown.join('; ')}${skippedCount > shown.length ? '; …' : ''}).`,
      'Each row needs a tag name and a whole-number category: name,category,post_count,"alias1,alias2" (as in tagcomplete\'s danbooru.csv).',
    )
  }
  return {tags, rows, skippedCount, skipped}
}

/**
 * Reads a tagcomplete CSV and returns its usable rows (readTagcompleteCsv without the count of skipped ones).
 * @throws ReferenceFormatError as readTagcompleteCsv
 */
export async function parseTagcompleteCsv(text: string, source: string): Promise<ReferenceTag[]> {
  return (await readTagcompleteCsv(text, source)).tags
}

/** Why a parsed row is unusable, or undefined when it is usable. */
function rowProblem(fields: readonly string[]): string | undefined {
  const columns = fields.length - countTrailingEmpty(fields.slice(4))
  if (fields.length < 2) return 'only 1 column'
  if (columns > 4) return `${columns} columns (at most 4)`
  if (!normalizeTag(fields[0])) return 'empty tag name'
  // A caption separates its tags with commas: such a name, picked in the prompt, would be saved as two tags.
  if (fields[0].includes(',')) return 'the tag name holds a comma (captions separate tags with commas)'
  const category = fields[1].trim()
  if (!/^\d{1,2}$/u.test(category))
    return category === '' ? 'empty category' : `category "${escapeControls(category)}" is not a number from 0 to 99`
  return undefined
}

/** How many of `fields`, counted from the end, are empty. */
function countTrailingEmpty(fields: readonly string[]): number {
  let n = 0
  for (let i = fields.length - 1; i >= 0 && fields[i].trim() === ''; i--) n++
  return n
}

/** A csv-parse error, in words. */
function quoteProblem(error: unknown): string {
  const code = (error as {code?: string}).code
  if (code === 'CSV_QUOTE_NOT_CLOSED') return 'a quoted field is not closed on its line'
  if (code === 'CSV_INVALID_CLOSING_QUOTE' || code === 'INVALID_OPENING_QUOTE')
    return 'a quote in the middle of a field'
  return 'not a CSV row'
}

/**
 * Parses a plain list: one tag per line (a line holding commas: one tag per piece, as in a caption).
 * @param source the file's name, for messages
 * @throws ReferenceFormatError naming the line of a tag holding a control or bidi character
 */
export function parsePlainList(text: string, source = 'the list'): ReferenceTag[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text
  const seen = new Set<string>()
  const tags: ReferenceTag[] = []
  for (const [index, line] of body.split(/\r?\n/u).entries()) {
    if (line.trimStart().startsWith('#')) continue
    // A caption separates its tags with commas: a line holding some gives one tag per piece, never one tag that a
    // caption would split.
    for (const piece of line.split(',')) {
      const name = normalizeTag(piece)
      if (!name || seen.has(name)) continue
      refuseControls(source, index + 1, [name])
      seen.add(name)
      tags.push({name, category: -1, count: 0, aliases: []})
    }
  }
  return tags
}

/** Import filters. */
export interface ReferenceFilter {
  minCount?: number
  /** Category numbers to keep (all when undefined). */
  categories?: number[]
}

/** Applies --min-count and --category. */
export function filterReference(tags: ReferenceTag[], filter: ReferenceFilter): ReferenceTag[] {
  return tags.filter(
    (t) =>
      (filter.minCount === undefined || t.count >= filter.minCount) &&
      (filter.categories === undefined || filter.categories.includes(t.category)),
  )
}

/** Details of an import, kept in the stored file's header. */
export interface ReferenceInfo {
  name: string
  /** The imported file's absolute path. */
  source: string
  importedAt: string
  tags: number
  filter: ReferenceFilter
  /**
   * The category scheme its numbers are read in (`danbooru`, `e621`, `numbers`; core/categories.ts). References
   * stored before schemes existed have none: read them with referenceScheme.
   */
  categories?: string
}

/**
 * The category scheme of a stored reference: the one recorded at import; for a reference stored without one (an
 * older lora), the one its source file's name gives (schemeForFile). A scheme lora does not know is `numbers`.
 */
export function referenceScheme(info: Pick<ReferenceInfo, 'categories' | 'source'>): CategoryScheme {
  if (info.categories === undefined) return schemeForFile(info.source)
  return isCategoryScheme(info.categories) ? info.categories : 'numbers'
}

const HEADER = '# lora reference '

/** Serialises a reference vocabulary to its stored TSV form. */
export function serializeReference(info: ReferenceInfo, tags: readonly ReferenceTag[]): string {
  const clean = (s: string) => s.replace(/[\t\r\n]/gu, ' ')
  return (
    HEADER +
    JSON.stringify(info) +
    '\n' +
    tags.map((t) => `${clean(t.name)}\t${t.category}\t${t.count}\t${t.aliases.map(clean).join(',')}`).join('\n') +
    '\n'
  )
}

/**
 * Parses the stored TSV form (written by serializeReference).
 * @throws LoraError (`reference-format`, with the reimport hint) when it is not one, or when a tag or alias holds a
 *   control or bidi character (the stored file was edited by hand: `tags import` never writes one)
 */
export function parseStoredReference(text: string): {info: ReferenceInfo; tags: ReferenceTag[]} {
  const newline = text.indexOf('\n')
  const first = text.slice(0, newline)
  if (!first.startsWith(HEADER))
    throw new LoraError('Not a stored lora reference vocabulary.', {
      code: 'reference-format',
      hint: 'Reimport it with `lora tags import FILE`.',
    })
  let info: unknown
  try {
    info = JSON.parse(first.slice(HEADER.length))
  } catch {
    info = undefined
  }
  const wrong = referenceInfoProblem(info)
  if (wrong)
    throw new LoraError(`The stored reference vocabulary's header ${wrong}.`, {
      code: 'reference-format',
      hint: 'Reimport it with `lora tags import FILE`.',
    })
  const tags: ReferenceTag[] = []
  for (const [k, line] of text
    .slice(newline + 1)
    .split('\n')
    .entries()) {
    if (!line) continue
    const [name, category, count, aliases] = line.split('\t')
    // Import never stores a name holding a comma (rowProblem, parsePlainList): a stranger's stored file might, and
    // picked in the prompt such a name would be saved as two tags.
    if (name.includes(',')) continue
    const tag = {name, category: Number(category), count: Number(count), aliases: aliases ? aliases.split(',') : []}
    const problem = controlProblemOf([tag.name, ...tag.aliases])
    if (problem)
      throw new LoraError(`The stored reference vocabulary, line ${k + 2}: ${problem}.`, {
        code: 'reference-format',
        hint: 'Reimport it with `lora tags import FILE`.',
      })
    tags.push(tag)
  }
  return {info: info as ReferenceInfo, tags}
}

/**
 * What is wrong with a stored reference's header (the JSON after `# lora reference `), or undefined when it has the
 * ReferenceInfo shape: a dataset from a stranger may hold anything there, and `lora tags import --list` prints it.
 */
function referenceInfoProblem(info: unknown): string | undefined {
  if (!info || typeof info !== 'object' || Array.isArray(info)) return 'is not a JSON object'
  const r = info as Record<string, unknown>
  for (const key of ['name', 'source', 'importedAt']) if (typeof r[key] !== 'string') return `has no text ${key}`
  if (!Number.isInteger(r.tags) || (r.tags as number) < 0) return 'has no tag count'
  if (r.categories !== undefined && typeof r.categories !== 'string') return 'has a categories value that is not text'
  const f = r.filter as Record<string, unknown> | null
  if (!f || typeof f !== 'object' || Array.isArray(f)) return 'has no filter object'
  if (f.minCount !== undefined && !Number.isInteger(f.minCount)) return 'has a minCount that is not a whole number'
  if (f.categories !== undefined && !(Array.isArray(f.categories) && f.categories.every((n) => Number.isInteger(n))))
    return 'has filter categories that are not whole numbers'
  return undefined
}
