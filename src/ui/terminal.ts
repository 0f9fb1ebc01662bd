import {isatty} from 'node:tty'
import type {ChalkInstance} from 'chalk'
import {type Progress, type ProgressOptions, rateText} from '../core/progress.js'
import {escapeControls, escapeRawControls} from '../core/terminal-text.js'

/** The streams and environment a Terminal is made from; tests pass their own. */
export interface TerminalOptions {
  stdout?: NodeJS.WritableStream & {isTTY?: boolean}
  stderr?: NodeJS.WritableStream & {isTTY?: boolean}
  stdin?: NodeJS.ReadableStream & {isTTY?: boolean}
  env?: NodeJS.ProcessEnv
  /** `--no-color` was given. */
  noColor?: boolean
  /** Overrides for the TTY checks (tests). */
  stdoutIsTTY?: boolean
  stderrIsTTY?: boolean
  stdinIsTTY?: boolean
}

/** chalk's `Chalk` class (`new Chalk({level})`). */
export type ChalkClass = new (options?: {level?: 0 | 1 | 2 | 3}) => ChalkInstance

/**
 * The one place that decides how `lora` talks to the terminal: whether stdout/stderr are TTYs, whether it may
 * prompt (stdin and stdout are TTYs and `CI` is unset), and whether to colour (`NO_COLOR`, `FORCE_COLOR`,
 * `--no-color`; never when the stream is not a TTY unless forced). Data goes to stdout (`out`), messages and
 * progress to stderr (`info`, `warn`, `progress`).
 */
export class Terminal {
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  private readonly stdinGiven?: NodeJS.ReadableStream
  private stdinTTY?: boolean
  readonly stdoutIsTTY: boolean
  readonly stderrIsTTY: boolean
  readonly env: NodeJS.ProcessEnv
  private readonly noColor?: boolean
  private colorOut?: ChalkInstance
  private colorError?: ChalkInstance

  /**
   * A Terminal on the given streams (process's by default). A coloured stream needs chalk's class, loaded by
   * `loadChalk`, when its colours are first used (`createTerminal` loads it when `coloured`).
   */
  constructor(options: TerminalOptions = {}) {
    this.stdout = options.stdout ?? process.stdout
    this.stderr = options.stderr ?? process.stderr
    this.stdinGiven = options.stdin
    this.stdinTTY = options.stdinIsTTY ?? (options.stdin ? Boolean(options.stdin.isTTY) : undefined)
    this.env = options.env ?? process.env
    this.stdoutIsTTY = options.stdoutIsTTY ?? Boolean((this.stdout as {isTTY?: boolean}).isTTY)
    this.stderrIsTTY = options.stderrIsTTY ?? Boolean((this.stderr as {isTTY?: boolean}).isTTY)
    this.noColor = options.noColor
  }

  /** Whether stdout or stderr is coloured (then chalk is needed: `loadChalk`). */
  get coloured(): boolean {
    return (
      colorLevel(this.stdoutIsTTY, this.env, this.noColor) > 0 ||
      colorLevel(this.stderrIsTTY, this.env, this.noColor) > 0
    )
  }

  /** Colours for text written to stdout (`plainColor` when it is not coloured). */
  get color(): ChalkInstance {
    return (this.colorOut ??= colors(colorLevel(this.stdoutIsTTY, this.env, this.noColor)))
  }

  /** Colours for text written to stderr (`plainColor` when it is not coloured). */
  get colorErr(): ChalkInstance {
    return (this.colorError ??= colors(colorLevel(this.stderrIsTTY, this.env, this.noColor)))
  }

  /**
   * Whether stdin is a terminal, asked on first use: process.stdin is a tty.ReadStream exactly when fd 0 is a
   * terminal, and asking isatty(0) spares a command that never reads stdin the making of that stream (node's net and
   * stream set-up: several ms of every start-up), and one that never asks the loading of node:tty.
   */
  get stdinIsTTY(): boolean {
    return (this.stdinTTY ??= isatty(0))
  }

  /** The input stream (process.stdin unless one was given), made on first use. */
  get stdin(): NodeJS.ReadableStream {
    return this.stdinGiven ?? process.stdin
  }

  /** True when `lora` may ask questions: stdin and stdout are terminals and `CI` is not set. */
  get canPrompt(): boolean {
    return this.stdinIsTTY && this.stdoutIsTTY && !isTruthy(this.env.CI)
  }

  /**
   * Writes a line of data to stdout. Like `info` and `warn`, it escapes any C0 control character a renderer left in
   * (core/terminal-text.ts escapeRawControls): colours pass, an ESC from a file never reaches the terminal raw.
   */
  out(line = ''): void {
    this.stdout.write(escapeRawControls(line) + '\n')
  }

  /**
   * Writes data that is a file's content (`lora export - --format csv`) to stdout: as it is into a pipe or file, but
   * to a terminal with every control and bidi character escaped but line feeds and tabs (a caption from a stranger's
   * dataset could otherwise set the terminal's title or clear it).
   */
  data(text: string): void {
    this.stdout.write(
      this.stdoutIsTTY
        ? text
            .split('\t')
            .map((part) => escapeControls(part, {keepNewlines: true}))
            .join('\t')
        : text,
    )
  }

  /**
   * The width message lines are fitted to (`wrapText` in text-layout.ts): one less than stderr's columns when
   * stderr is a terminal (so no line is wider than it), else undefined (no wrapping in pipes and logs).
   */
  get messageWidth(): number | undefined {
    const columns = (this.stderr as {columns?: number}).columns
    return this.stderrIsTTY && columns !== undefined && columns > 1 ? columns - 1 : undefined
  }

  /** Writes a message line to stderr. */
  info(line = ''): void {
    this.stderr.write(escapeRawControls(line) + '\n')
  }

  /** Writes a warning line to stderr. */
  warn(line: string): void {
    this.stderr.write(this.colorErr.yellow('warning: ') + escapeRawControls(line) + '\n')
  }

  /**
   * A progress indicator on stderr: an ora spinner showing `label n/total` (with `options.rate`, also the rate and
   * the time left: `Tagging 24/120 · 3.2 images/s, ETA 0:30`) when stderr is a TTY with a width, nothing otherwise. A
   * tick's `detail` (an image id, from state.json) is shown escaped (core/terminal-text.ts). ora is imported only when a spinner is really shown.
   */
  async progress(label: string, total: number, options: ProgressOptions = {}): Promise<Progress> {
    // A terminal that reports 0 columns (`stty cols 0`, some serial consoles) would make ora's line count infinite
    // and its clearing loop endless: no spinner there.
    const columns = (this.stderr as {columns?: number}).columns
    if (!this.stderrIsTTY || total === 0 || (columns !== undefined && !(columns > 0))) return {tick() {}, done() {}}
    const {default: ora} = await import('ora')
    // ora colours its frame with its own chalk, which knows nothing of NO_COLOR or --no-color: lora's stderr decides.
    const spinner = ora({
      text: `${label} 0/${total}`,
      stream: this.stderr,
      isEnabled: true,
      color: this.colorErr.level > 0 ? 'cyan' : false,
    }).start()
    const started = Date.now()
    let n = 0
    let last = 0
    return {
      tick(detail?: string) {
        n++
        const now = Date.now()
        if (now - last > 80 || n === total) {
          last = now
          const rate = options.rate === undefined ? '' : rateText(n, total, now - started, options.rate)
          spinner.text = `${label} ${n}/${total}${rate ? ` · ${rate}` : ''}${detail ? ' ' + escapeControls(detail) : ''}`
          // Drawn now, not at the spinner's next frame: a short run may end before that frame.
          spinner.render()
        }
      },
      done() {
        spinner.stop()
      },
    }
  }
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false'
}

/** chalk level for one stream: NO_COLOR / --no-color win, then FORCE_COLOR, then "is it a TTY". */
function colorLevel(isTTY: boolean, env: NodeJS.ProcessEnv, noColor?: boolean): 0 | 1 | 2 | 3 {
  if (noColor || (env.NO_COLOR !== undefined && env.NO_COLOR !== '')) return 0
  const force = env.FORCE_COLOR
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0
    const n = Number(force)
    return n >= 1 && n <= 3 ? (n as 1 | 2 | 3) : 1
  }
  if (!isTTY) return 0
  if (env.TERM === 'dumb') return 0
  return env.COLORTERM === 'truecolor' ? 3 : 1
}

/**
 * Colours at `level`: chalk's (the class `loadChalk` loaded) when above 0, else `plainColor`, which writes what chalk
 * writes at level 0 without loading chalk (its style tables and colour probe cost 1.5–2 ms of every start-up).
 */
function colors(level: 0 | 1 | 2 | 3): ChalkInstance {
  if (level === 0) return plainColor
  const Chalk = (globalThis as unknown as Record<symbol, ChalkClass | undefined>)[CHALK]
  if (!Chalk)
    throw new Error('A coloured Terminal needs chalk: make it with createTerminal, or await loadChalk() first.')
  return new Chalk({level})
}

/**
 * chalk's style names (its ansi-styles: modifiers, foreground and background colours). test/unit/terminal.test.ts
 * checks them against chalk's own lists.
 */
const STYLE_NAMES = [
  ...['reset', 'bold', 'dim', 'italic', 'underline', 'overline', 'inverse', 'hidden', 'strikethrough'],
  ...['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white', 'gray', 'grey'].flatMap((c) =>
    c === 'gray' || c === 'grey'
      ? [c, `bg${c[0].toUpperCase()}${c.slice(1)}`]
      : [c, `${c}Bright`, `bg${c[0].toUpperCase()}${c.slice(1)}`, `bg${c[0].toUpperCase()}${c.slice(1)}Bright`],
  ),
]

/** chalk's colour models, methods that take a colour and return a style (`rgb(255, 0, 0)`, `bgHex('#fff')`). */
const MODEL_NAMES = ['rgb', 'hex', 'ansi256', 'bgRgb', 'bgHex', 'bgAnsi256']

/**
 * What `new Chalk({level: 0})` is, without chalk: called, it joins its arguments with spaces; each style (`red`,
 * `bold.red`, `rgb(…)`, …) is a function returning its text as is (a single argument as `'' + value`, several joined
 * with spaces), except that anything under `visible` returns ''. Its `level` is 0.
 */
export const plainColor: ChalkInstance = (() => {
  const root = (...texts: unknown[]) => texts.join(' ')
  const style = (...texts: unknown[]) => (texts.length === 1 ? String(texts[0]) : texts.join(' '))
  const invisible = () => ''
  for (const [target, next] of [
    [root, style],
    [style, style],
    [invisible, invisible],
  ] as const) {
    for (const name of STYLE_NAMES) Object.defineProperty(target, name, {value: next})
    for (const name of MODEL_NAMES) Object.defineProperty(target, name, {value: () => next})
    Object.defineProperty(target, 'visible', {value: invisible})
    Object.defineProperty(target, 'level', {value: 0, enumerable: true})
  }
  return root as unknown as ChalkInstance
})()

// Kept on globalThis so that tests replacing it reach the commands even when those are loaded from dist/; chalk's
// class too, so that a Terminal made from src/ (the tests' factories) colours with the chalk dist/ loaded.
const FACTORY = Symbol.for('lora.terminalFactory')
const CHALK = Symbol.for('lora.chalk')
type Factory = (options: TerminalOptions) => Terminal
const registry = globalThis as unknown as Record<symbol, Factory | undefined>

/** chalk's class, loaded on first call (kept on globalThis: see above). */
export async function loadChalk(): Promise<ChalkClass> {
  const kept = globalThis as unknown as Record<symbol, ChalkClass | undefined>
  return (kept[CHALK] ??= (await import('chalk')).Chalk)
}

/**
 * Makes the Terminal a command uses, loading chalk only when stdout or stderr is to be coloured; tests replace the
 * factory with `setTerminalFactory`.
 */
export async function createTerminal(options: TerminalOptions = {}): Promise<Terminal> {
  const term = (registry[FACTORY] ?? ((o: TerminalOptions) => new Terminal(o)))(options)
  if (term.coloured) await loadChalk()
  return term
}

/** Replaces how commands make their Terminal (tests); returns a function that restores the previous one. */
export function setTerminalFactory(next: Factory): () => void {
  const previous = registry[FACTORY]
  registry[FACTORY] = next
  return () => {
    registry[FACTORY] = previous
  }
}
