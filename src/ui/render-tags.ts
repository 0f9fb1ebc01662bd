/** Human views of `lora tags` reports. Tags, names and sources are shown escaped (core/terminal-text.ts). */
import type {Terminal} from './terminal.js'
import {escapeControls as esc} from '../core/terminal-text.js'
import type {ImportReport} from '../services/references.js'
import type {BulkEditReport, TagList} from '../services/dataset-tags.js'
import {categoryName, type ReferenceInfo} from '../core/reference.js'

export function renderTagList(term: Terminal, list: TagList): void {
  const width = list.tags.reduce((w, t) => Math.max(w, String(t.count).length), 0)
  for (const t of list.tags) term.out(`${String(t.count).padStart(width)}  ${esc(t.tag)}`)
  if (list.tags.length === 0) term.info('No tags.')
}

/** Per-file lines (dry runs) on stdout, then one summary line on stderr. */
export function renderBulkEdit(term: Terminal, r: BulkEditReport, summary: string): void {
  const c = term.color
  if (r.dryRun) {
    for (const f of r.files) term.out(`${esc(f.file)}: ${[...f.removed.map((t) => c.red(`-${esc(t)}`)), ...f.added.map((t) => c.green(`+${esc(t)}`))].join(' ')}`)
  }
  const vocab = [r.vocabulary.added.length ? `+${r.vocabulary.added.length}` : '', r.vocabulary.removed.length ? `-${r.vocabulary.removed.length}` : ''].filter(Boolean).join(' ')
  term.info(`${esc(summary)}${vocab ? `; vocabulary ${vocab}` : ''}${r.dryRun ? ' (dry run; nothing written)' : ''}.`)
}

export function renderImport(term: Terminal, r: ImportReport): void {
  term.info(`Imported ${r.tags} tag(s) and ${r.aliases} alias(es) as reference vocabulary "${esc(r.name)}"${r.filteredOut ? ` (${r.filteredOut} left out by the filters)` : ''}.`)
}

export function renderReferences(term: Terminal, list: ReferenceInfo[]): void {
  if (list.length === 0) term.info('No reference vocabulary imported; see `lora tags import FILE`.')
  for (const r of list) {
    const filters = [r.filter.minCount !== undefined ? `min-count ${r.filter.minCount}` : '', r.filter.categories ? `categories ${r.filter.categories.map((n) => categoryName(n) || n).join(',')}` : ''].filter(Boolean).join('; ')
    term.out(`${esc(r.name)}\t${r.tags} tags\t${esc(r.source)}\t${esc(r.importedAt)}${filters ? `\t${filters}` : ''}`)
  }
}
