/** Human views of `lora tags` reports. Tags, names and sources are shown escaped (core/terminal-text.ts). */
import {basename} from 'node:path'
import type {Terminal} from './terminal.js'
import {escapeControls as esc} from '../core/terminal-text.js'
import type {ImportReport} from '../services/references.js'
import type {BulkEditReport, TagList} from '../services/dataset-tags.js'
import type {ReferenceInfo} from '../core/reference.js'
import {type CategoryScheme, categoryText} from '../core/categories.js'
import {counted, plural} from '../core/plural.js'

/** `lora tags`: `count  tag` lines on stdout, counts right-aligned. */
export function renderTagList(term: Terminal, list: TagList): void {
  const width = list.tags.reduce((w, t) => Math.max(w, String(t.count).length), 0)
  for (const t of list.tags) term.out(`${String(t.count).padStart(width)}  ${esc(t.tag)}`)
  if (list.tags.length === 0) term.info('No tags.')
}

/** What a dataset-wide edit was asked to do, for its summary line. */
export type BulkEditRequest =
  | {action: 'rename'; from: string; to: string}
  | {action: 'rm'; tags: readonly string[]}
  | {action: 'add'}
  | {action: 'normalize'; tagStyle: string; lowercase: boolean}

/**
 * `lora tags rename|rm|add|normalize`: with `--dry-run` one line per changed caption on stdout
 * (`img_0001.jpg: -old +new`); for `rm`, a warning per tag that was nowhere, with close matches
 * (`"watermrk" is in no caption and not in tags.txt; did you mean "watermark"?`); then one summary line on stderr
 * saying in words what tags.txt gained and lost (`Renamed "a" → "b" in 3 captions; tags.txt: added "b", removed "a".`).
 */
export function renderBulkEdit(term: Terminal, r: BulkEditReport, request: BulkEditRequest): void {
  const c = term.color
  if (r.dryRun) {
    for (const f of r.images)
      term.out(
        `${esc(f.file)}: ${[...f.removed.map((t) => c.red(`-${esc(t)}`)), ...f.added.map((t) => c.green(`+${esc(t)}`))].join(' ')}`,
      )
  }
  for (const missing of r.notFound ?? [])
    term.warn(
      `"${esc(missing.tag)}" is in no caption and not in tags.txt; nothing to remove${missing.closeMatches.length ? `. Did you mean ${missing.closeMatches.map((t) => `"${esc(t)}"`).join(', ')}?` : '.'}`,
    )
  const vocab = [
    r.vocabulary.added.length ? `added ${quotedList(r.vocabulary.added)}` : '',
    r.vocabulary.removed.length ? `removed ${quotedList(r.vocabulary.removed)}` : '',
  ]
    .filter(Boolean)
    .join(', ')
  term.info(
    `${esc(bulkSummary(r, request))}${vocab ? `; tags.txt: ${vocab}` : ''}${r.dryRun ? ' (dry run; nothing written)' : ''}.`,
  )
}

/** `"a", "b", "c" and 4 more`: at most 5 tags named, escaped. */
function quotedList(tags: readonly string[]): string {
  const shown = tags.slice(0, 5).map((t) => `"${esc(t)}"`)
  return shown.join(', ') + (tags.length > shown.length ? ` and ${tags.length - shown.length} more` : '')
}

function bulkSummary(r: BulkEditReport, request: BulkEditRequest): string {
  switch (request.action) {
    case 'rename':
      return `Renamed "${request.from}" → "${request.to}" in ${counted(r.changed, 'caption')}`
    case 'rm': {
      // Tags found nowhere were named in the warning above; the summary names only the ones that were somewhere.
      const missing = new Set((r.notFound ?? []).map((n) => n.tag))
      const found = request.tags.filter((t) => !missing.has(t))
      return found.length === 0
        ? 'Nothing was removed'
        : `Removed ${found.map((t) => `"${t}"`).join(', ')} from ${counted(r.changed, 'caption')}`
    }
    case 'add':
      return `Added ${counted(r.vocabulary.added.length, 'tag')} to the vocabulary`
    case 'normalize':
      return `Normalised ${counted(r.changed, 'caption')} to tagStyle "${request.tagStyle}"${request.lowercase ? ', lower case' : ''}`
  }
}

/**
 * `lora tags import FILE`: one warning line for the CSV rows left out (`Skipped 2 unusable rows of e.csv (line 3:
 * empty tag name; line 7: ...)...`), then what was imported and its category scheme (stderr).
 */
export function renderImport(term: Terminal, r: ImportReport): void {
  if (r.skipped.count > 0) {
    const shown = r.skipped.rows.slice(0, 3).map((s) => `line ${s.line}: ${s.problem}`)
    const more = r.skipped.count - shown.length
    term.warn(
      `Skipped ${r.skipped.count} unusable ${plural(r.skipped.count, 'row')} of ${esc(basename(r.source))} (${esc(shown.join('; '))}${more > 0 ? `; ${more} more` : ''}); the other rows were imported.`,
    )
  }
  term.info(
    `Imported ${counted(r.tags, 'tag')} and ${counted(r.aliases, 'alias', 'aliases')} as reference vocabulary "${esc(r.name)}", categories: ${r.categories}${r.filteredOut ? ` (${r.filteredOut} left out by the filters)` : ''}.`,
  )
}

/** `lora tags import --remove NAME` (stderr). */
export function renderReferenceRemoved(term: Terminal, name: string): void {
  term.info(`Removed reference vocabulary "${esc(name)}".`)
}

/**
 * `lora tags import --list`: one line per reference vocabulary on stdout (tab-separated: name, tag count, category
 * scheme, source, import time, filters with category names in its scheme), or a note on stderr.
 */
export function renderReferences(term: Terminal, list: (ReferenceInfo & {categories: CategoryScheme})[]): void {
  if (list.length === 0) term.info('No reference vocabulary imported; see `lora tags import FILE`.')
  for (const r of list) {
    const filters = [
      r.filter.minCount !== undefined ? `min-count ${r.filter.minCount}` : '',
      r.filter.categories ? `category ${r.filter.categories.map((n) => categoryText(r.categories, n)).join(',')}` : '',
    ]
      .filter(Boolean)
      .join('; ')
    term.out(
      `${esc(r.name)}\t${r.tags} tags\tcategories: ${esc(r.categories)}\t${esc(r.source)}\t${esc(r.importedAt)}${filters ? `\t${filters}` : ''}`,
    )
  }
}
