/**
 * Human views of the dataset-history reports: `lora git enable`, `lora log`, `lora blame`, `lora undo`. Text that
 * comes from git or the dataset (paths, authors, subjects, tags) is shown with control characters escaped
 * (core/terminal-text.ts).
 */
import type {Terminal} from './terminal.js'
import {escapeControls as esc} from '../core/terminal-text.js'
import type {BlameReport, GitEnableReport, LogReport, UndoReport} from '../services/history.js'

/** `lora git enable`: where history is kept and the first commit (stderr). */
export function renderGitEnable(term: Terminal, r: GitEnableReport): void {
  term.info(
    `History on in ${esc(r.repository)}${r.created ? ' (new repository)' : ''}${r.lfs ? ', images in git-lfs' : ''}.`,
  )
  if (r.commit) term.info(`Committed ${r.commit.slice(0, 7)}.`)
}

/** `lora log`: one line per tag change on stdout, `<short hash> <date> <author>  <image>  +added −removed`. */
export function renderLog(term: Terminal, r: LogReport): void {
  const c = term.color
  for (const e of r.events) {
    const changes = [
      ...e.added.map((t) => c.green(`+${esc(t)}`)),
      ...e.removed.map((t) => c.red(`\u2212${esc(t)}`)),
    ].join(' ')
    term.out(
      `${c.yellow(e.commit.slice(0, 7))} ${esc(e.date.slice(0, 10))} ${esc(e.author)}  ${c.bold(esc(e.id))}  ${changes}`,
    )
  }
  if (r.events.length === 0) term.info('No tag changes in the history.')
}

/** `lora blame`: each tag of the caption (padded to the longest) and the commit that added it, on stdout. */
export function renderBlame(term: Terminal, r: BlameReport): void {
  const c = term.color
  const width = r.tags.reduce((w, t) => Math.max(w, esc(t.tag).length), 0)
  for (const t of r.tags) {
    const commit = t.commit
      ? `${c.yellow(t.commit.slice(0, 7))} ${esc((t.date ?? '').slice(0, 10))} ${esc(t.author ?? '')}  ${esc(t.subject ?? '')}`
      : c.dim('not committed yet')
    term.out(`${esc(t.tag).padEnd(width)}  ${commit}`)
  }
}

/**
 * `lora undo`: what was reverted, as which commit, and the files of that commit outside the dataset that were left
 * as they are (stderr). The detached-HEAD warning is printed before the commit, by the command.
 */
export function renderUndo(term: Terminal, r: UndoReport): void {
  term.info(
    `Reverted ${r.reverted.slice(0, 7)} "${esc(r.subject)}" (${r.images.length} image(s) changed) as ${r.commit ? r.commit.slice(0, 7) : 'no commit (nothing differed)'}.`,
  )
  if (r.outside.length > 0) {
    term.info(
      `Only the dataset part was undone; left as they are (outside the dataset): ${r.outside
        .slice(0, 5)
        .map((p) => esc(p))
        .join(', ')}${r.outside.length > 5 ? `, … (${r.outside.length - 5} more)` : ''}.`,
    )
  }
}
