/**
 * The fast path for the two read-only commands scripts call in loops, `lora status` and `lora next --print`, and for
 * a plain `lora gallery` (whose second run, with nothing new, should cost about what a status does): run
 * without loading oclif (which is most of their start-up: `lora --version` alone costs 2.3× `node -e 0`). Only
 * plain invocations take it — the command and the flags listed here, each at most once (the global ones also before
 * the command: `lora -C ds status`); anything else (help, unknown or repeated flags, `LORA_CONTENT_TYPE`, `--json`
 * with stdout on a terminal) returns undefined and bin/run.js hands the arguments to oclif.
 * Output, JSON shape, errors and exit codes are the oclif commands' (test/e2e/fast-path.test.ts compares them),
 * because both call the same services, renderers and `reportError`.
 */
// Only types at the top: every other command passes through here on its way to oclif, so nothing is loaded
// before the arguments are known to be a plain invocation.
import type {Terminal} from '../ui/terminal.js'
// The one module loaded first: small, pure, no imports of its own.
import {splitLeadingGlobals} from './global-flags.js'

/** The parsed plain invocation. */
interface Plain {
  command: 'status' | 'next' | 'gallery'
  json: boolean
  noColor: boolean
  dataset?: string
}

/**
 * Runs `argv` (process.argv without node and the script) when it is a plain `status` or `next --print`.
 * @returns the exit code, or undefined when the invocation is not one this path takes (oclif runs it)
 */
export async function runFastPath(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number | undefined> {
  if (env.LORA_CONTENT_TYPE !== undefined || env.LORA_NO_FAST_PATH) return undefined
  const plain = parsePlain(argv)
  // JSON on a terminal is for a person, and oclif may colour it with the user's theme: leave that to oclif.
  if (!plain || (plain.json && process.stdout.isTTY)) return undefined
  // A reader that stops early (`lora status | head -1`) ends the output quietly, as under oclif.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
  })
  const [{createTerminal}, {reportError}, {installStopHandlers}] = await Promise.all([
    import('../ui/terminal.js'),
    import('../ui/report-error.js'),
    import('./interrupts.js'),
  ])
  // `status` finishes an interrupted change: a stop signal must not cut that in half either.
  installStopHandlers()
  const term = createTerminal({noColor: plain.noColor})
  // `status` may commit an interrupted change it finishes: its warnings (a detached HEAD) go to stderr.
  const {setWarningSink} = await import('../store/warnings.js')
  setWarningSink((text) => term.warn(text))
  try {
    await run(plain, term, env)
    return 0
  } catch (error) {
    return reportError(term, error as Error)
  }
}

async function run(plain: Plain, term: Terminal, env: NodeJS.ProcessEnv): Promise<void> {
  const {locateDataset, openDataset} = await import('../store/dataset.js')
  const root = await locateDataset({explicit: plain.dataset, env: env.LORA_DATASET, cwd: process.cwd()})
  const dataset = await openDataset(root, `lora ${plain.command}`)
  if (plain.command === 'gallery') {
    const [{makeGallery, DEFAULT_THUMB_SIZE}, {renderGallery}] = await Promise.all([
      import('../services/gallery.js'),
      import('../ui/render-gallery.js'),
    ])
    const report = await makeGallery(dataset, {
      cwd: process.cwd(),
      thumbSize: DEFAULT_THUMB_SIZE,
      progress: (label, total) => term.progress(label, total),
    })
    if (plain.json) term.out(JSON.stringify(report, null, 2))
    else renderGallery(term, report)
    return
  }
  if (plain.command === 'status') {
    const [{datasetStatus}, {renderStatus}] = await Promise.all([
      import('../services/status.js'),
      import('../ui/render.js'),
    ])
    const report = await datasetStatus(dataset)
    if (plain.json) term.out(JSON.stringify(report, null, 2))
    else renderStatus(term, report)
    return
  }
  const [{nextImage}, {renderMissingSkipped, renderNextPrint}] = await Promise.all([
    import('../services/next-image.js'),
    import('../ui/render.js'),
  ])
  const {next, skippedMissing} = await nextImage(dataset)
  renderMissingSkipped(term, skippedMissing)
  // As `lora next --print` under oclif; --json: the object, or null when none is left.
  if (plain.json) term.out(JSON.stringify(next ?? null, null, 2))
  else renderNextPrint(term, next)
}

/**
 * The plain invocation `argv` stands for, or undefined. Global flags may come before the command too, as git takes
 * them (`lora -C ds --json status`): they count as given after it.
 */
function parsePlain(argv: readonly string[]): Plain | undefined {
  const leading = splitLeadingGlobals(argv)
  if (leading.missingValue) return undefined
  const [command, ...after] = leading.rest
  const rest = [...leading.globals, ...after]
  if (command !== 'status' && command !== 'next' && command !== 'gallery') return undefined
  const seen = new Set<string>()
  const plain: Plain = {command, json: false, noColor: false}
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]
    let flag = arg
    let value: string | undefined
    if (arg.startsWith('--dataset=')) [flag, value] = ['--dataset', arg.slice('--dataset='.length)]
    else if (arg === '-C' || arg === '--dataset') [flag, value] = ['--dataset', rest[++i]]
    else if (arg.startsWith('-C') && arg.length > 2) [flag, value] = ['--dataset', arg.slice(2)]
    if (seen.has(flag)) return undefined
    seen.add(flag)
    if (flag === '--json') plain.json = true
    else if (flag === '--no-color') plain.noColor = true
    else if (flag === '--dataset') {
      if (value === undefined || value === '' || value.startsWith('-') || value.startsWith('=')) return undefined
      plain.dataset = value
    } else if (command === 'next' && (flag === '--print' || flag === '--commit' || flag === '--no-commit')) continue
    else return undefined
  }
  if (command === 'next' && !seen.has('--print')) return undefined
  return plain
}
