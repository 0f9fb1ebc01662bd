/**
 * Views of a `lora validate` report: human (grouped by rule, with counts; colour via the Terminal), JSON (the
 * report as is) and GitHub Actions workflow annotations (`::error file=…::…`). Findings go to stdout; the summary
 * line goes to stderr. Messages name files and tags: control and bidi characters in them are shown escaped
 * (core/terminal-text.ts), in the JSON as JSON escapes them.
 */
import {isAbsolute, join, relative} from 'node:path'
import type {Terminal} from './terminal.js'
import {escapeControls as esc} from '../core/terminal-text.js'
import {groupDigits} from '../core/progress.js'
import {type Finding, RULES, type ValidateReport} from '../services/validate.js'
import {plural} from '../core/plural.js'

/** Output formats of `lora validate`. */
export const VALIDATE_FORMATS = ['human', 'json', 'github'] as const
export type ValidateFormat = (typeof VALIDATE_FORMATS)[number]

/** Human output shows this many findings per rule unless `--verbose`. */
export const PER_RULE = 20

/** Writes the findings in `format` to stdout, then a one-line summary to stderr. */
export function renderValidate(
  term: Terminal,
  report: ValidateReport,
  options: {format: ValidateFormat; verbose: boolean; cwd: string},
): void {
  if (options.format === 'json') term.out(JSON.stringify(report, null, 2))
  else if (options.format === 'github')
    for (const f of report.findings) term.out(githubAnnotation(f, report.path, options.cwd))
  else renderHuman(term, report, options.verbose)
  term.info(summaryLine(report))
}

function renderHuman(term: Terminal, report: ValidateReport, verbose: boolean): void {
  const c = term.color
  const groups = new Map<string, Finding[]>()
  for (const f of report.findings) groups.set(f.rule, [...(groups.get(f.rule) ?? []), f])
  for (const [rule, list] of groups) {
    const info = RULES[list[0].rule]
    const label = list[0].severity === 'error' ? c.red.bold('error  ') : c.yellow.bold('warning')
    term.out(`${label} ${c.bold(rule)} (${list.length}): ${info.summary}`)
    const shown = verbose ? list : list.slice(0, PER_RULE)
    for (const f of shown) term.out(`  ${esc(f.message)}`)
    if (shown.length < list.length)
      term.out(c.dim(`  … and ${list.length - shown.length} more (--verbose shows all, --format json lists them)`))
    term.out(`  ${c.dim('fix:')} ${info.hint}`)
    term.out()
  }
}

/** `Checked 120 images and 118 caption files in DIR (target kohya): 3 errors, 1 warning.` */
export function summaryLine(report: ValidateReport): string {
  const n = (count: number, word: string) => `${groupDigits(count)} ${plural(count, word)}`
  const result =
    report.errors + report.warnings === 0
      ? 'no problems'
      : `${n(report.errors, 'error')}, ${n(report.warnings, 'warning')}`
  return `Checked ${n(report.checked.images, 'image')} and ${n(report.checked.captions, 'caption file')} in ${esc(report.path)} (target ${report.target}): ${result}.`
}

/**
 * A GitHub Actions workflow command for one finding: `::error file=PATH,title=TITLE::MESSAGE`. The file is
 * relative to `cwd` (the workspace) when the validated folder is inside it; values are escaped as the runner
 * expects (`%`, CR, LF everywhere; also `:` and `,` in properties); other control and bidi characters escaped.
 */
export function githubAnnotation(f: Finding, root: string, cwd: string): string {
  const abs = f.path === '.' ? root : join(root, f.path)
  const rel = relative(cwd, abs)
  const file = rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? abs : rel
  const level = f.severity === 'error' ? 'error' : 'warning'
  return `::${level} file=${escapeProperty(file.split('\\').join('/'))},title=${escapeProperty(`lora validate: ${f.rule}`)}::${escapeData(`${f.message} Fix: ${f.hint}`)}`
}

function escapeData(s: string): string {
  return esc(s.replace(/%/gu, '%25').replace(/\r/gu, '%0D').replace(/\n/gu, '%0A'))
}

function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/gu, '%3A').replace(/,/gu, '%2C')
}
