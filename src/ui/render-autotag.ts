/** `lora autotag`'s human output: per image its predicted tags (suggest) or caption change (add, replace). */
import type {Terminal} from './terminal.js'
import {escapeControls as esc} from '../core/terminal-text.js'
import type {AutotagReport} from '../services/autotag.js'
import {counted} from '../core/plural.js'

/** Renders the report: data lines on stdout, the summary on stderr. */
export function renderAutotag(term: Terminal, r: AutotagReport): void {
  const c = term.color
  for (const p of r.problems) term.warn(`${esc(p.id)}: ${esc(p.reason)} (left out)`)
  for (const s of r.skipped) term.info(`${esc(s.id)}: skipped, ${esc(s.reason)}`)
  for (const i of r.images) {
    if (r.mode === 'suggest') {
      // Prompt tags have no score: only the model's are shown with one.
      const tags = i.tags.map((t) => (r.model ? `${esc(t.tag)} ${c.dim(`${Math.round(t.score * 100)}%`)}` : esc(t.tag)))
      term.out(`${esc(i.id)}: ${tags.join(', ') || c.dim('(no tag above the thresholds)')}`)
      continue
    }
    if (!i.changed) continue
    const parts = [
      ...(i.added ?? []).map((t) => c.green(`+${esc(t)}`)),
      ...(i.removed ?? []).map((t) => c.red(`-${esc(t)}`)),
    ]
    term.out(`${esc(i.id)}: ${parts.join(' ') || '(rewritten)'}`)
  }
  const source = r.model
    ? `${r.inferred} predicted by ${esc(r.model.name)}, ${r.cached} from the cache`
    : `from their embedded prompts; ${r.skipped.length} skipped without one`
  if (r.mode === 'suggest') {
    term.info(
      `${counted(r.images.length, 'image')}: ${source}. Suggestions only; write them with --mode add or --mode replace.`,
    )
    return
  }
  const verb = r.dryRun ? 'would change' : 'changed'
  term.info(
    `${r.changed} of ${counted(r.images.length, 'image')} ${verb} (${source})${r.dryRun ? '; dry run, nothing written' : ''}.` +
      (r.changed > 0 && !r.dryRun
        ? ' Their status is auto until reviewed: lora next visits them after pending images.'
        : ''),
  )
}
