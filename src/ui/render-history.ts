/**
 * Human views of the dataset-history reports: `lora git enable`, `lora log`, `lora blame`, `lora undo`. Text that
 * comes from git or the dataset (paths, authors, subjects, tags) is shown with control characters escaped
 * (core/terminal-text.ts).
 */
import {join} from 'node:path'
import type {Terminal} from './terminal.js'
import {escapeControls as esc} from '../core/terminal-text.js'
import {captionTooLargeProblem} from '../core/caption-encoding.js'
import type {BlameReport, GitEnableReport, LogReport, UndoReport} from '../services/history.js'
import {counted, plural} from '../core/plural.js'

/**
 * `lora git enable` and `lora init --git` (stderr): which repository holds the history (created, or the enclosing
 * one with its top-level folder), the commit made (short hash and subject), and whether `git status` is clean in
 * the dataset folder `root`; when files are left untracked there (the originals beside a copied dataset), which,
 * and the `.gitignore` lines that hide them.
 */
export function renderGitEnable(term: Terminal, r: GitEnableReport, root: string): void {
  const where = r.created
    ? `created a git repository in ${esc(r.repository)}`
    : `using the enclosing git repository at ${esc(r.repository)}`
  const commit = r.commit
    ? `committed the dataset as ${r.commit.slice(0, 7)} "${esc(r.subject ?? '')}"`
    : 'nothing new to commit'
  term.info(`History: ${where}${r.lfs ? ' (images in git-lfs)' : ''}; ${commit}.`)
  if (r.untracked.length === 0) {
    term.info(`Nothing in ${esc(root)} is left untracked: \`git status\` is clean there.`)
    return
  }
  const originals =
    r.originals === r.untracked.length
      ? `, ${plural(r.originals, 'the original', 'the originals')} lora init read`
      : r.originals > 0
        ? ` (${r.originals} of them ${plural(r.originals, 'an original', 'originals')} lora init read)`
        : ''
  const shown = r.untracked.slice(0, 5).map((p) => esc(p))
  const more = r.untracked.length > 5 ? `, … (${r.untracked.length - 5} more)` : ''
  term.info(
    `Left untracked in ${esc(root)}: ${counted(r.untracked.length, 'file')}${originals}: ${shown.join(', ')}${more}. lora commits only the dataset's own files (its output folder and .lora-tagger/).`,
  )
  const them = plural(r.untracked.length, 'it', 'them')
  if (r.ignore.length > 0) {
    term.info(
      `To keep ${them} out of \`git status\`, add these lines to ${esc(join(root, '.gitignore'))} (and commit it):`,
    )
    for (const line of r.ignore) term.info(`  ${esc(line)}`)
    term.info(`Or commit ${them} yourself (\`git add\`); \`git status\` lists ${them}.`)
  } else term.info(`\`git status\` lists ${them}; commit or remove ${them}.`)
}

/**
 * `lora log`: one line per image and commit on stdout, `<short hash> <date> <author>  <image>  +added −removed`,
 * then `skipped` when the commit skipped the image, with its reason when one was recorded (`skipped (blurry 0.21 <
 * 0.29)`), and `unskipped` when it took a skip back.
 */
export function renderLog(term: Terminal, r: LogReport): void {
  const c = term.color
  for (const e of r.events) {
    const changes = e.tooLarge
      ? c.dim(`change too large to show: ${tooLargeText(e.tooLarge)}`)
      : [
          ...e.added.map((t) => c.green(`+${esc(t)}`)),
          ...e.removed.map((t) => c.red(`\u2212${esc(t)}`)),
          ...(e.status === 'skipped'
            ? [c.yellow('skipped') + (e.skipReason ? ` (${esc(e.skipReason)})` : '')]
            : e.statusBefore === 'skipped'
              ? [c.yellow('unskipped')]
              : []),
        ].join(' ')
    term.out(
      `${c.yellow(e.commit.slice(0, 7))} ${esc(e.date.slice(0, 10))} ${esc(e.author)}  ${c.bold(esc(e.id))}  ${changes}`,
    )
  }
  if (r.events.length === 0) term.info('No tag changes or skips in the history.')
}

/** A caption version too large to read, for a person: `output/img_0001.txt is 3.0 MiB (…), more than the 1 MiB …`. */
function tooLargeText(t: {path: string; size: number}): string {
  return `${esc(t.path)} ${captionTooLargeProblem(t.size)}`
}

/**
 * `lora blame`: each tag of the caption (padded to the longest) and the commit that added it, on stdout; then, on
 * stderr, each commit where the caption was too large to read.
 */
export function renderBlame(term: Terminal, r: BlameReport): void {
  const c = term.color
  const width = r.tags.reduce((w, t) => Math.max(w, esc(t.tag).length), 0)
  for (const t of r.tags) {
    const commit = t.commit
      ? `${c.yellow(t.commit.slice(0, 7))} ${esc((t.date ?? '').slice(0, 10))} ${esc(t.author ?? '')}  ${esc(t.subject ?? '')}`
      : c.dim('not committed yet')
    term.out(`${esc(t.tag).padEnd(width)}  ${commit}`)
  }
  for (const t of r.tooLarge ?? [])
    term.info(
      `The change ${t.commit.slice(0, 7)} is too large to show (${tooLargeText(t)}): no tag is blamed on a commit before it.`,
    )
}

/**
 * `lora undo` (stderr): which commit was undone and which images went back, the commit that records the undo, the
 * files of the undone commit outside the dataset that were left as they are, and what to run next (the next older
 * undo, or bringing this one back). The detached-HEAD warning is printed before the commit, by the command.
 */
export function renderUndo(term: Terminal, r: UndoReport): void {
  const short = r.reverted.slice(0, 7)
  const ids = r.images.slice(0, 10).map((id) => esc(id))
  const images =
    r.images.length === 0
      ? 'no image needed to change'
      : `${r.images.length === 1 ? '1 image' : `${r.images.length} images`} back as before (${ids.join(', ')}${r.images.length > 10 ? ', …' : ''})`
  term.info(`Undid ${short} "${esc(r.subject)}": ${images}.`)
  if (r.outside.length > 0) {
    term.info(
      `${short} also changed files lora does not keep (outside the output folder and .lora-tagger/); those are left as they are: ${r.outside
        .slice(0, 5)
        .map((p) => esc(p))
        .join(', ')}${r.outside.length > 5 ? `, … (${r.outside.length - 5} more)` : ''}.`,
    )
  }
  if (r.commit) {
    term.info(`Committed the undo as ${r.commit.slice(0, 7)}.`)
    term.info(
      `Next: \`lora undo\` again undoes the next older change; \`lora undo ${r.commit.slice(0, 7)}\` brings this one back.`,
    )
  } else term.info('Nothing differed, so nothing was committed.')
}
