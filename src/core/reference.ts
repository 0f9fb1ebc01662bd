/**
 * Reference vocabularies: big tag lists a user imports (not the dataset's own tags.txt), used for autocomplete.
 *
 * Input formats:
 * - The a1111 tagcomplete CSV (DominikDoom/a1111-sd-webui-tagcomplete `tags/danbooru.csv`): no header, columns
 *   `name,category,post_count,"alias1,alias2"`; count and aliases may be missing. Categories: 0 general,
 *   1 artist, 3 copyright, 4 character, 5 meta. Aliases starting with `/` are typing shorthands (`/lh`).
 * - Plain text: one tag per line (`#` comments and blank lines ignored).
 *
 * Stored form: `.lora-tagger/reference/<name>.tsv`, one tag per line, `name\tcategory\tcount\taliases` (aliases
 * comma-joined), after a `# lora reference` header line carrying the import's details as JSON.
 */
import {LoraError} from '../errors.js'
import {normalizeTag} from './caption.js'
import {CONTROL_HINT, tagControlProblem} from './terminal-text.js'

/** One tag of a reference vocabulary. */
export interface ReferenceTag {
  name: string
  /** Category number (see CATEGORIES), or -1 when unknown (plain text lists). */
  category: number
  /** Post count (popularity), 0 when unknown. */
  count: number
  aliases: string[]
}

/** Category numbers of the tagcomplete CSV, by name. */
export const CATEGORIES: Record<string, number> = {general: 0, artist: 1, copyright: 3, character: 4, meta: 5}

/** Category name of a number ('' when unknown). */
export function categoryName(category: number): string {
  return Object.entries(CATEGORIES).find(([, n]) => n === category)?.[0] ?? ''
}

/** A malformed input file: names the line (1-based). Exit 1. */
export class ReferenceFormatError extends LoraError {
  constructor(source: string, line: number, problem: string, hint?: string) {
    super(`${source}, line ${line}: ${problem}. Nothing was imported.`, {
      code: 'reference-format',
      hint:
        hint ??
        'Fix that line (expected `name,category,post_count,"alias1,alias2"`, as in a1111 tagcomplete CSVs), or import it as plain text with --format text.',
    })
  }
}

/** Refuses a row whose tag or alias holds a control or bidi character (README "Safety model"). */
function refuseControls(source: string, line: number, names: readonly string[]): void {
  for (const name of names) {
    const problem = tagControlProblem(name)
    if (problem)
      throw new ReferenceFormatError(source, line, problem, `Remove that character from the file. ${CONTROL_HINT}`)
  }
}

/**
 * Parses a tagcomplete CSV (csv-parse, RFC 4180 quoting).
 * @throws ReferenceFormatError naming the line of the first malformed record
 */
export async function parseTagcompleteCsv(text: string, source: string): Promise<ReferenceTag[]> {
  const {parse} = await import('csv-parse/sync')
  let rows: {record: string[]; info: {lines: number}}[]
  // The line after the last good record is where a broken one starts (csv-parse reports where it gave up).
  let lastGood = 0
  try {
    rows = parse(text, {
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
      info: true,
      on_record: (record: string[], context: {lines: number}) => {
        lastGood = context.lines
        return record
      },
    } as object) as unknown as typeof rows
  } catch (error) {
    const e = error as {code?: string; message: string}
    const lines = text.split(/\r?\n/u)
    let line = lastGood + 1
    while (line <= lines.length && lines[line - 1].trim() === '') line++
    const problem =
      e.code === 'CSV_QUOTE_NOT_CLOSED'
        ? 'a quoted field is opened but never closed'
        : e.code === 'CSV_INVALID_CLOSING_QUOTE' || e.code === 'INVALID_OPENING_QUOTE'
          ? 'a quote in the middle of a field (quote the whole field, and double quotes inside it)'
          : e.message.replace(/^Invalid [^:]*: /u, '').split(' at line')[0]
    throw new ReferenceFormatError(source, line, problem)
  }
  const tags: ReferenceTag[] = []
  for (const {record: row, info} of rows) {
    const lineNo = info.lines
    if (row.length < 2 || row.length > 4)
      throw new ReferenceFormatError(source, lineNo, `expected 2 to 4 columns, found ${row.length}`)
    const name = normalizeTag(row[0])
    if (!name) throw new ReferenceFormatError(source, lineNo, 'empty tag name')
    if (!/^\d+$/u.test(row[1].trim()))
      throw new ReferenceFormatError(source, lineNo, `category "${row[1]}" is not a number`)
    const countText = (row[2] ?? '').trim()
    if (countText !== '' && !/^\d+$/u.test(countText))
      throw new ReferenceFormatError(source, lineNo, `post count "${row[2]}" is not a number`)
    const aliases = (row[3] ?? '')
      .split(',')
      .map((a) => normalizeTag(a))
      .filter((a) => a !== '' && a !== name)
    refuseControls(source, lineNo, [name, ...aliases])
    tags.push({name, category: Number(row[1]), count: countText === '' ? 0 : Number(countText), aliases})
  }
  return tags
}

/**
 * Parses a plain list: one tag per line.
 * @param source the file's name, for messages
 * @throws ReferenceFormatError naming the line of a tag holding a control or bidi character
 */
export function parsePlainList(text: string, source = 'the list'): ReferenceTag[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text
  const seen = new Set<string>()
  const tags: ReferenceTag[] = []
  for (const [index, line] of body.split(/\r?\n/u).entries()) {
    if (line.trimStart().startsWith('#')) continue
    const name = normalizeTag(line)
    if (!name || seen.has(name)) continue
    refuseControls(source, index + 1, [name])
    seen.add(name)
    tags.push({name, category: -1, count: 0, aliases: []})
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
  source: string
  importedAt: string
  tags: number
  filter: ReferenceFilter
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

/** Parses the stored TSV form (written by serializeReference). */
export function parseStoredReference(text: string): {info: ReferenceInfo; tags: ReferenceTag[]} {
  const newline = text.indexOf('\n')
  const first = text.slice(0, newline)
  if (!first.startsWith(HEADER))
    throw new LoraError('Not a stored lora reference vocabulary.', {
      code: 'reference-format',
      hint: 'Reimport it with `lora tags import FILE`.',
    })
  const info = JSON.parse(first.slice(HEADER.length)) as ReferenceInfo
  const tags: ReferenceTag[] = []
  for (const line of text.slice(newline + 1).split('\n')) {
    if (!line) continue
    const [name, category, count, aliases] = line.split('\t')
    tags.push({name, category: Number(category), count: Number(count), aliases: aliases ? aliases.split(',') : []})
  }
  return {info, tags}
}
