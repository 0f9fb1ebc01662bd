/** `lora curate`'s human output: duplicate groups by kind, then findings by rule, then what --apply skipped. */
import type {Terminal} from './terminal.js'
import {escapeControls as esc} from '../core/terminal-text.js'
import {CURATION_RULES} from '../core/curation.js'
import type {CurateReport} from '../services/curate.js'
import type {ListReport} from '../services/list.js'
import {counted, plural} from '../core/plural.js'

/** Renders the report: groups and findings on stdout, the summary on stderr. */
export function renderCurate(term: Terminal, r: CurateReport, options: {dryRun: boolean}): void {
  const c = term.color
  for (const kind of ['exact', 'near'] as const) {
    const groups = r.groups.filter((g) => g.kind === kind)
    if (groups.length === 0) continue
    term.out(
      c.bold(kind === 'exact' ? 'Exact duplicates (same pixels)' : 'Near-duplicates (pHash distance to the keeper)'),
    )
    for (const g of groups) {
      const line = g.images.map((i) => {
        const size = c.dim(`${i.width}×${i.height}`)
        return i.id === g.keep ? `${c.green(esc(i.id))} ${size} keep` : `${esc(i.id)} ${size} d=${i.distance}`
      })
      term.out(`  ${line.join(', ')}`)
    }
    term.out()
  }
  for (const rule of CURATION_RULES) {
    const found = r.findings.filter((f) => f.rule === rule)
    if (found.length === 0) continue
    term.out(c.bold(`${rule} (${found.length})`))
    for (const f of found) term.out(`  ${esc(f.id)}  ${esc(f.message)}`)
    term.out()
  }
  const members = r.groups.reduce((n, g) => n + g.images.length - 1, 0)
  term.info(
    `${counted(r.analyzed + r.cached, 'image')} analysed (${r.analyzed} measured, ${r.cached} from the cache): ` +
      `${counted(r.groups.length, 'duplicate group')} with ${counted(members, 'image')} beside their keeper, ${counted(r.findings.length, 'finding')}.`,
  )
  if (r.skipped === undefined) {
    if (members > 0 || r.findings.length > 0)
      term.info('Skip the duplicates (and the findings of --rule ...) with `lora curate --apply`; nothing is deleted.')
    return
  }
  for (const s of r.skipped) term.out(`${esc(s.id)}: skipped, ${esc(s.reason)}`)
  if (r.skipped.length === 0) term.info('Nothing to skip.')
  else if (options.dryRun) term.info(`Would skip ${counted(r.skipped.length, 'image')}; dry run, nothing written.`)
  else
    term.info(
      `Skipped ${counted(r.skipped.length, 'image')}; no file was deleted. \`lora tag IMAGE --unskip\` brings one back` +
        (r.commit ? `, \`lora undo\` ${plural(r.skipped.length, 'undoes the skip', 'all of them')}.` : '.'),
    )
}

/** `lora ls`: `id<TAB>path` per image on stdout (escaped), and a note on stderr about images not analysed yet. */
export function renderList(term: Terminal, r: ListReport): void {
  for (const i of r.images) term.out(`${esc(i.id)}\t${esc(i.path)}`)
  if (r.unanalysed > 0)
    term.warn(
      `${counted(r.unanalysed, 'image')} ${plural(r.unanalysed, 'has', 'have')} not been analysed yet, so ${plural(r.unanalysed, 'it is', 'they are')} not listed; run \`lora curate\` first.`,
    )
}
