/**
 * Human-readable views of the services' reports (stderr for messages, stdout for data). Text that came from files,
 * names or git (tags, ids, paths, reasons) is shown through `esc` (core/terminal-text.ts): control and bidi
 * characters escaped.
 */
import type {Terminal} from './terminal.js'
import {escapeControls as esc} from '../core/terminal-text.js'
import {wrapText} from './text-layout.js'
import {OTHER_FORMATS_ADVICE, otherFormatsText} from '../core/naming.js'
import {shellQuote} from '../core/shell.js'
import type {ExportReport} from '../services/export.js'
import type {TargetExportReport} from '../services/export-target.js'
import type {InitSummary} from '../services/init.js'
import type {ImageCounts, StatusReport} from '../services/status.js'
import type {TagReport} from '../services/tag-images.js'
import type {NextImage} from '../services/next-image.js'
import type {SessionReport} from '../services/tagging-session.js'
import type {RepairReport} from '../services/repair.js'
import {renderGitEnable} from './render-history.js'
import {counted, plural} from '../core/plural.js'

/** `12/250 tagged` (skipped images count as done), then `, 3 skipped` and `, 40 auto` when there are any. */
export function progressText(counts: ImageCounts): string {
  return `${counts.tagged}/${counts.total} tagged${counts.skipped ? `, ${counts.skipped} skipped` : ''}${counts.auto ? `, ${counts.auto} auto` : ''}`
}

/** A text progress bar, e.g. `[#######-------------] 35%`. */
export function progressBar(done: number, total: number, width = 30): string {
  const ratio = total === 0 ? 1 : done / total
  const filled = Math.round(ratio * width)
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(ratio * 100)}%`
}

export function renderInit(term: Terminal, s: InitSummary): void {
  const c = term.colorErr
  const verb = s.mode === 'move' ? 'moved' : s.mode === 'link' ? 'linked' : 'copied'
  term.info(`${s.created ? 'Created dataset' : 'Updated dataset'} ${esc(s.dataset)}`)
  term.info(
    `  ${c.green(String(s.added.length))} ${plural(s.added.length, 'image')} ${verb} to ${esc(s.outputDir)}${s.alreadyImported ? `, ${s.alreadyImported} already imported` : ''}`,
  )
  if (s.adoptedCaptions) term.info(`  ${counted(s.adoptedCaptions, 'existing caption')} adopted`)
  for (const d of s.duplicates)
    term.info(`  ${c.yellow('duplicate')} ${esc(d.source)} (same bytes as ${esc(d.of)}; not imported)`)
  for (const p of s.problems) term.info(`  ${c.red('skipped')} ${esc(p.source)}: ${esc(p.reason)}`)
  for (const d of s.nearDuplicates)
    term.info(
      `  ${c.yellow('near-duplicate')} ${esc(d.id)} of ${esc(d.of)} (pHash distance ${d.distance}); \`lora curate\` groups them, \`lora curate --apply\` skips the one it does not keep`,
    )
  if (s.missing.length > 0)
    term.warn(
      `${counted(s.missing.length, 'image')} imported earlier ${plural(s.missing.length, 'is', 'are')} missing from the output folder (not imported again): ${firstTen(s.missing)}. Restore ${plural(s.missing.length, 'it', 'them')}; \`lora status\` lists ${plural(s.missing.length, 'it', 'them')}.`,
    )
  const below = s.notImported.inSubfolders
  if (below && below.images > 0)
    term.info(
      `${c.dim('note:')} ${counted(below.images, 'image')} in ${counted(below.folders, 'subfolder')} ${plural(below.images, 'was', 'were')} not looked at; to include ${plural(below.images, 'it', 'them')}: lora init ${shellQuote(s.dataset)} --recursive`,
    )
  if (s.notImported.otherFormats.length > 0)
    term.info(`${c.dim('note:')} ${otherFormatsText(s.notImported.otherFormats)} ${OTHER_FORMATS_ADVICE}`)
  term.info(`  ${progressText(s.images)}; ${s.images.pending} pending`)
  if (s.git) renderGitEnable(term, s.git, s.dataset)
  if (s.images.pending > 0) term.info('Next: `lora next` to tag interactively, or `lora tag` in scripts.')
}

export function renderStatus(term: Terminal, s: StatusReport): void {
  const c = term.color
  const done = s.images.tagged + s.images.skipped
  if (s.rescanned)
    term.info(
      s.rescanned.length === 0
        ? 'Rescan: every caption file matches the state.'
        : `Rescan: ${counted(s.rescanned.length, 'image')} updated from their caption files: ${firstTen(s.rescanned)}`,
    )
  term.out(`Dataset: ${esc(s.dataset)}`)
  term.out(`Output:  ${esc(s.outputDir)}`)
  term.out(
    `Images:  ${s.images.total} total, ${c.green(`${s.images.tagged} tagged`)}, ${s.images.skipped} skipped, ${c.yellow(`${s.images.pending} pending`)}${s.images.auto ? `, ${c.cyan(`${s.images.auto} auto (not reviewed)`)}` : ''}`,
  )
  if (term.stdoutIsTTY) term.out(`         ${progressBar(done, s.images.total)}`)
  term.out(`Next:    ${s.next ? `${esc(s.next.id)} (${esc(s.next.path)})` : 'none — every image is tagged or skipped'}`)
  term.out(`Vocabulary: ${counted(s.vocabulary.size, 'tag')}${s.trigger ? `; trigger word: ${esc(s.trigger)}` : ''}`)
  if (s.topTags.length > 0) term.out(`Top tags: ${s.topTags.map((t) => `${esc(t.tag)} (${t.count})`).join(', ')}`)
  if (s.duplicates.length > 0) term.out(`Duplicates (not imported): ${s.duplicates.length}`)
  for (const d of s.duplicates) term.out(`  ${esc(d.source)} = ${esc(d.of)}`)
  if (s.problems.length > 0) term.out(`Problem files (not imported): ${s.problems.length}`)
  for (const p of s.problems) term.out(`  ${c.red(esc(p.source))}: ${esc(p.reason)}`)
  if (s.emptyCaptions.length > 0)
    term.out(`Tagged but empty captions: ${s.emptyCaptions.map((id) => esc(id)).join(', ')}`)
  if (s.curation) {
    const k = s.curation
    const findings = Object.entries(k.findings).map(([rule, n]) => `${n} ${esc(rule)}`)
    term.out(
      `Curation: ${counted(k.duplicates, 'duplicate')} in ${counted(k.groups, 'group')}${findings.length > 0 ? `; ${findings.join(', ')}` : ''} (${counted(k.analysed, 'image')} analysed by lora curate, ${esc(k.analysedAt.slice(0, 16).replace('T', ' '))})`,
    )
  }
  if (s.skipReasons.length > 0) {
    term.out(`Skipped with a reason (lora curate): ${s.skipReasons.length}`)
    for (const r of s.skipReasons.slice(0, 10)) term.out(`  ${esc(r.id)}: ${esc(r.reason)}`)
    if (s.skipReasons.length > 10) term.out(`  … and ${s.skipReasons.length - 10} more (lora status --json lists them)`)
  }
  if (s.missing.length > 0) {
    term.out(
      c.red(
        `Missing images: ${s.missing.length} (gone from ${esc(s.outputDir)}, or no longer a regular file): ${firstTen(s.missing)}`,
      ),
    )
    const them = plural(s.missing.length, 'it', 'them')
    term.out(
      `  Restore ${them} (git checkout, or copy the original back under the same name); \`lora next\` passes ${them} over and \`lora export\` refuses until then (or use --skip-missing).`,
    )
  }
  if (s.changed.length > 0) {
    term.out(c.yellow(`Changed images: ${s.changed.length} (bytes differ from the state): ${firstTen(s.changed)}`))
    term.out(
      '  If the change is meant, run `lora status --rescan` to take them in (new size, sha256, dimensions); else restore them.',
    )
  }
  if (s.git)
    term.out(
      s.git.uncommitted.length === 0
        ? 'History: all caption changes committed'
        : `History: ${counted(s.git.uncommitted.length, 'caption file')} changed since the last commit: ${firstTen(s.git.uncommitted)}`,
    )
}

/** `a, b, c`: the first ten names (escaped), then `…` when there are more. */
function firstTen(names: readonly string[]): string {
  return (
    names
      .slice(0, 10)
      .map((n) => esc(n))
      .join(', ') + (names.length > 10 ? ', …' : '')
  )
}

/** `lora repair`: what was rebuilt, what was not taken in, and what could not be recovered (stderr). */
export function renderRepair(term: Terminal, r: RepairReport): void {
  if (!r.repaired) {
    term.info(`.lora-tagger/state.json is readable (${r.images.total} images); nothing to repair.`)
    return
  }
  term.info(
    `Rebuilt .lora-tagger/state.json (it was ${r.cause}) from ${counted(r.images.total, 'image')}: ${r.images.tagged} tagged, ${r.images.pending} pending.`,
  )
  for (const p of r.problems) term.warn(`${esc(p.source)}: ${esc(p.reason)}`)
  term.info(`Not recoverable: ${r.notRecovered.join('; ')}.`)
}

/** `lora next`: one warning line on stderr for the pending images passed over because their file is missing. */
export function renderMissingSkipped(term: Terminal, skipped: readonly {id: string; reason: string}[]): void {
  if (skipped.length === 0) return
  const names =
    skipped
      .slice(0, 10)
      .map((m) => `${esc(m.id)} (${esc(m.reason)})`)
      .join(', ') + (skipped.length > 10 ? ', …' : '')
  term.warn(
    `Passed over ${counted(skipped.length, 'pending image')} whose file is missing: ${names}. \`lora status\` lists ${plural(skipped.length, 'it', 'them')}.`,
  )
}

/** `lora export --skip-missing`: one warning line on stderr naming the images left out. */
export function renderExportSkipped(term: Terminal, left: readonly {id: string; kind: string; reason: string}[]): void {
  const names =
    left
      .slice(0, 10)
      .map((m) => `${esc(m.id)} (${m.kind}: ${esc(m.reason)})`)
      .join(', ') + (left.length > 10 ? ', …' : '')
  term.warn(`Left out ${counted(left.length, 'image')} missing or changed in the output folder: ${names}.`)
}

/**
 * `lora next --print`: `<id>\t<path>` of the next pending image; nothing when none is left. With `json`, only
 * `null` when none is left: oclif prints the returned object itself, but only when there is one.
 */
export function renderNextPrint(term: Terminal, next: NextImage | undefined, options: {json?: boolean} = {}): void {
  if (options.json) {
    if (!next) term.out('null')
  } else if (next) term.out(`${esc(next.id)}\t${esc(next.path)}`)
}

/**
 * The end of `lora next` (`loop: false`; only when nothing was pending, as each save already said what it did) or
 * of `lora resume` (`loop: true`): one line on stderr.
 */
export function renderSession(term: Terminal, r: SessionReport, options: {loop: boolean}): void {
  const line = sessionSummary(r, options)
  if (line) term.info(wrapText(line, term.messageWidth))
}

/**
 * What a run of `lora next` / `lora resume` did, in one line (undefined when there is nothing to say): `Nothing
 * left to tag: …`; for `resume`, `This run: 2 saved, 0 skipped. Now 3/5 tagged; 2 pending.`; after Esc or Ctrl-C
 * also which image was not saved (`…; img_0004 was not saved. …`; `next`: `Quit: img_0001 was not saved. …`). A run
 * cancelled with Ctrl-C ends with this line as its exit message (`Cancelled. …`, exit 130), never "nothing was
 * written" after saves.
 */
export function sessionSummary(r: SessionReport, options: {loop: boolean}): string | undefined {
  if (r.nothingPending)
    return `Nothing left to tag: ${options.loop ? progressText(r.images) : `${r.images.tagged} tagged, ${r.images.skipped} skipped`}.`
  const notSaved = r.notSaved === null ? '' : `${esc(r.notSaved)} was not saved`
  const now = `Now ${progressText(r.images)}; ${r.images.pending} pending.`
  const cancelled = r.cancelled ? 'Cancelled. ' : ''
  if (options.loop)
    return `${cancelled}This run: ${r.saved} saved, ${r.skipped} skipped${notSaved ? `; ${notSaved}` : ''}. ${now}`
  if (r.cancelled) return `Cancelled: ${notSaved}. ${now}`
  if (r.quit) return `Quit: ${notSaved}. ${now}`
  return undefined
}

export function renderTag(term: Terminal, r: TagReport): void {
  const c = term.color
  for (const i of r.images) {
    if (!i.changed) continue
    const parts = [...i.added.map((t) => c.green(`+${esc(t)}`)), ...i.removed.map((t) => c.red(`-${esc(t)}`))]
    if (i.status !== i.statusBefore) parts.push(`[${i.statusBefore} → ${i.status}]`)
    // Same tags, written again: a repeat removed (`tree, tree`) or the trigger word moved first.
    if (parts.length === 0) parts.push('(rewritten)')
    term.out(`${esc(i.id)}: ${parts.join(' ')}`)
  }
  const verb = r.dryRun ? 'would change' : 'changed'
  term.info(
    `${r.changed} of ${counted(r.images.length, 'image')} ${verb}${r.dryRun ? ' (dry run; nothing written)' : ''}.`,
  )
}

/**
 * `lora export --target`: what was written (or would be, with --dry-run), then the validation result: a summary
 * line, and on findings up to 10 of them (`lora validate` on the folder shows all). All on stderr.
 */
export function renderTargetExport(term: Terminal, r: TargetExportReport): void {
  const where = r.zip ? `the zip ${esc(r.dest)}` : esc(r.dest)
  const linked = r.linked ? `${r.linked} hard-linked, ` : ''
  const how = `${linked}${r.copied} copied as they are, ${r.converted} re-encoded`
  const left = r.left - r.leftAuto ? `; ${r.left - r.leftAuto} pending or skipped left out` : ''
  if (r.dryRun) {
    term.info(
      `Would export ${counted(r.count, 'image')} for ${r.target} to ${where} (${how}${left}); nothing was written (--dry-run).`,
    )
  } else term.info(`Exported ${counted(r.count, 'image')} for ${r.target} to ${where} (${how}${left}).`)
  if (r.configs.length) term.info(`Config: ${r.configs.map((c) => esc(c)).join(', ')}.`)
  if (r.leftAuto)
    term.info(
      `${counted(r.leftAuto, 'auto image')} (captioned by lora autotag, not reviewed) left out: review ${plural(r.leftAuto, 'it', 'them')} with lora next, or add --include-auto.`,
    )
  const v = r.validation
  if (!v) return
  if (v.errors === 0 && v.warnings === 0) {
    term.info(`Checked with lora validate's ${v.target} rules: no problems.`)
    return
  }
  term.info(
    `Checked with lora validate's ${v.target} rules: ${counted(v.errors, 'error')}, ${counted(v.warnings, 'warning')}:`,
  )
  for (const f of v.findings.slice(0, 10)) term.info(`  ${f.severity} ${f.rule}: ${esc(f.message)}`)
  if (v.findings.length > 10) term.info(`  … and ${v.findings.length - 10} more.`)
}

/**
 * `lora export --format F`: what was written, on stderr. For the folder format, a note that the images are byte
 * copies: their metadata (a GPS position too), EXIF orientation and format are the originals', which `--target`
 * handles (README "File formats").
 */
export function renderExport(term: Terminal, r: ExportReport): void {
  if (r.dest === '-') return
  term.info(
    `Exported ${counted(r.count, 'image')} as ${r.format} to ${esc(r.imageDir ?? r.dest)}${r.left - r.leftAuto ? ` (${r.left - r.leftAuto} pending or skipped left out)` : ''}.`,
  )
  if (r.format === 'folder' && r.count > 0)
    term.info(
      'The images are copied byte for byte: metadata (a GPS position too), EXIF orientation and format as they were. For trainer-ready copies (upright, no metadata, formats every trainer reads, with the config), export with --target (kohya, ai-toolkit, onetrainer, diffusion-pipe, hf, civitai).',
    )
  if (r.leftAuto)
    term.info(
      `${counted(r.leftAuto, 'auto image')} (captioned by lora autotag, not reviewed) left out: review ${plural(r.leftAuto, 'it', 'them')} with lora next, or add --include-auto.`,
    )
}
