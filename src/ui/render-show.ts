/**
 * The human form of `lora show IMAGE` (services/show.ts): one labelled line per fact on stdout. Names, tags and
 * reasons come from files, so their control and bidi characters are shown escaped (core/terminal-text.ts).
 */
import {escapeControls as esc} from '../core/terminal-text.js'
import type {ShowReport} from '../services/show.js'
import type {Terminal} from './terminal.js'

/** Prints `report` on stdout: id and file, original, size, sha256, status, tags, caption file, the
 * generator's positive prompt when the image holds one, then any problems. */
export function renderShow(term: Terminal, report: ShowReport): void {
  const c = term.color
  const tags = report.tags.map((tag, i) =>
    i === 0 && report.trigger !== null && tag === report.trigger ? `${esc(tag)} ${c.dim('(trigger word)')}` : esc(tag),
  )
  const status =
    report.status === 'tagged'
      ? c.green('tagged')
      : report.status === 'pending'
        ? c.yellow('pending')
        : report.status === 'auto'
          ? c.cyan('auto (not reviewed)')
          : report.status
  term.out(`${c.bold(esc(report.id))}  ${esc(report.path)}`)
  term.out(`Original: ${esc(report.source)}`)
  term.out(`Size:     ${report.width}×${report.height} px, ${esc(report.format)}, ${report.bytes} bytes`)
  term.out(`sha256:   ${esc(report.sha256)}`)
  term.out(`Status:   ${status}${report.updatedAt ? ` (${esc(report.updatedAt)})` : ''}`)
  if (report.skipReason !== null) term.out(`Skipped:  ${esc(report.skipReason)} (lora tag ${esc(report.id)} --unskip)`)
  term.out(`Tags:     ${tags.length > 0 ? tags.join(', ') : c.dim('none')}`)
  if (report.trigger !== null && report.tags[0] !== report.trigger)
    term.out(`          ${c.yellow(`the trigger word ${esc(report.trigger)} is not first`)}`)
  term.out(`Caption:  ${esc(report.caption)}`)
  if (report.prompt !== null)
    term.out(
      `Prompt:   ${report.prompt.positive === '' ? c.dim('none') : esc(report.prompt.positive)} ${c.dim(`(${esc(report.prompt.generator)})`)}`,
    )
  if (report.duplicates.length > 0)
    term.out(`Duplicates (not imported): ${report.duplicates.map((d) => esc(d)).join(', ')}`)
  for (const p of report.problems) {
    const reason = esc(p.reason)
    if (p.kind === 'missing')
      term.out(
        c.red(
          `Missing: the file is ${reason}; restore it (git checkout, or copy the original back under the same name).`,
        ),
      )
    else if (p.kind === 'changed')
      term.out(
        c.yellow(`Changed: ${reason}; if the change is meant, \`lora status --rescan\` takes it in, else restore it.`),
      )
    else if (p.kind === 'caption-encoding') term.out(c.red(`Caption: ${reason}`))
    else term.out(c.yellow(`Caption edited outside lora: ${reason}.`))
  }
}
