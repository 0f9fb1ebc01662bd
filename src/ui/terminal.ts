import {isatty} from 'node:tty'
import {Chalk, type ChalkInstance} from 'chalk'
import {type Progress, type ProgressOptions, rateText} from '../core/progress.js'
import {escapeRawControls} from '../core/terminal-text.js'

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
  readonly stdoutIsTTY: boolean
  readonly stderrIsTTY: boolean
  readonly stdinIsTTY: boolean
  readonly env: NodeJS.ProcessEnv
  /** Colours for text written to stdout. */
  readonly color: ChalkInstance
  /** Colours for text written to stderr. */
  readonly colorErr: ChalkInstance

  constructor(options: TerminalOptions = {}) {
    this.stdout = options.stdout ?? process.stdout
    this.stderr = options.stderr ?? process.stderr
    this.stdinGiven = options.stdin
    this.env = options.env ?? process.env
    this.stdoutIsTTY = options.stdoutIsTTY ?? Boolean((this.stdout as {isTTY?: boolean}).isTTY)
    this.stderrIsTTY = options.stderrIsTTY ?? Boolean((this.stderr as {isTTY?: boolean}).isTTY)
    // process.stdin is a tty.ReadStream exactly when fd 0 is a terminal; asking isatty(0) spares a command that never
    // reads stdin the making of that stream (node's net and stream set-up: several ms of every start-up).
    this.stdinIsTTY = options.stdinIsTTY ?? (options.stdin ? Boolean(options.stdin.isTTY) : isatty(0))
    this.color = new Chalk({level: colorLevel(this.stdoutIsTTY, this.env, options.noColor)})
    this.colorErr = new Chalk({level: colorLevel(this.stderrIsTTY, this.env, options.noColor)})
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
   * the time left: `Tagging 24/120 · 3.2 images/s, ETA 0:30`) when stderr is a TTY, nothing otherwise. ora is imported only when a spinner is really shown.
   */
  async progress(label: string, total: number, options: ProgressOptions = {}): Promise<Progress> {
    if (!this.stderrIsTTY || total === 0) return {tick() {}, done() {}}
    const {default: ora} = await import('ora')
    const spinner = ora({text: `${label} 0/${total}`, stream: this.stderr, isEnabled: true}).start()
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
          spinner.text = `${label} ${n}/${total}${rate ? ` · ${rate}` : ''}${detail ? ' ' + detail : ''}`
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

// Kept on globalThis so that tests replacing it reach the commands even when those are loaded from dist/.
const FACTORY = Symbol.for('lora.terminalFactory')
type Factory = (options: TerminalOptions) => Terminal
const registry = globalThis as unknown as Record<symbol, Factory | undefined>

/** Makes the Terminal a command uses; tests replace the factory with `setTerminalFactory`. */
export function createTerminal(options: TerminalOptions = {}): Terminal {
  return (registry[FACTORY] ?? ((o: TerminalOptions) => new Terminal(o)))(options)
}

/** Replaces how commands make their Terminal (tests); returns a function that restores the previous one. */
export function setTerminalFactory(next: Factory): () => void {
  const previous = registry[FACTORY]
  registry[FACTORY] = next
  return () => {
    registry[FACTORY] = previous
  }
}
