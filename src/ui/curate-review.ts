/**
 * `lora curate --review` on a terminal: each duplicate group is shown as one contact sheet in the viewer and asked
 * about (checkbox: which of its images to skip; the non-keepers are checked), then each rule's findings (checkbox;
 * checked when the rule was given with --rule). Returns the skips to make; nothing is written here.
 */
import {NeedsTerminalError} from '../errors.js'
import {ImageViewer, type ViewerMessage} from '../adapters/viewer.js'
import type {CurationSkip} from '../core/curation-report.js'
import {CURATION_RULES, type CurationRule} from '../core/curation.js'
import {escapeControls as esc} from '../core/terminal-text.js'
import type {CurateReviewInput} from '../services/curate.js'
import type {ViewerChoice} from '../services/viewer-choice.js'
import {checkbox} from './prompts/ask.js'
import type {Terminal} from './terminal.js'

/**
 * The reviewer for `CurateOptions.review`.
 * @param rules the `--rule`s given: their findings are checked by default
 * @throws NeedsTerminalError without a terminal (before anything is measured)
 */
export function terminalCurateReview(
  term: Terminal,
  viewer: ViewerChoice,
  rules: readonly CurationRule[],
): (input: CurateReviewInput) => Promise<CurationSkip[]> {
  if (!term.canPrompt)
    throw new NeedsTerminalError(
      'lora curate --review needs a terminal (stdin and stdout must be a TTY).',
      'In scripts, use `lora curate --json` to see the groups and findings and `lora curate --apply` (or `lora tag IMAGE --skip`) to skip.',
    )
  if (viewer.warning) term.warn(esc(viewer.warning))
  return async ({groups, findings, defaults, sheet}) => {
    const shown = new ImageViewer(viewer.command)
    const print = (messages: ViewerMessage[]) => {
      for (const {level, text} of messages) if (level === 'warning') term.warn(esc(text))
    }
    const skips: CurationSkip[] = []
    const chosen = new Set<string>()
    try {
      for (const [k, group] of groups.entries()) {
        print(await shown.show(await sheet(group)))
        const picked = await checkbox(term, {
          message: `Group ${k + 1} of ${groups.length} (${group.kind}; keeper ${esc(group.keep)}): skip which images?`,
          choices: group.images.map((i) => ({
            value: i.id,
            name: `${esc(i.id)} ${i.width}×${i.height}${i.id === group.keep ? ' keep' : ` distance ${i.distance}`}`,
            checked: i.id !== group.keep,
          })),
          pageSize: 12,
        })
        for (const id of picked) {
          if (chosen.has(id)) continue
          chosen.add(id)
          const member = group.images.find((i) => i.id === id)!
          skips.push(
            id === group.keep
              ? {id, kind: 'reviewed', reason: `skipped in review (kept in group of ${group.keep})`}
              : group.kind === 'exact'
                ? {id, kind: 'exact duplicate', reason: `exact duplicate of ${group.keep}`}
                : {id, kind: 'near-duplicate', reason: `near-duplicate of ${group.keep} (distance ${member.distance})`},
          )
        }
      }
      for (const rule of CURATION_RULES) {
        const found = findings.filter((f) => f.rule === rule && !chosen.has(f.id))
        if (found.length === 0) continue
        const picked = new Set(
          await checkbox(term, {
            message: `${rule}: skip which images?`,
            choices: found.map((f) => ({
              value: f.id,
              name: `${esc(f.id)}  ${esc(f.message)}`,
              checked: rules.includes(rule) || defaults.some((d) => d.id === f.id && d.kind === rule),
            })),
            pageSize: 12,
          }),
        )
        for (const f of found)
          if (picked.has(f.id) && !chosen.has(f.id)) {
            chosen.add(f.id)
            skips.push({id: f.id, kind: rule, reason: f.message})
          }
      }
    } finally {
      print(await shown.close())
    }
    return skips
  }
}
