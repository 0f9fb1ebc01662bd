/**
 * The built CLI in a pseudo-terminal (node-pty), for tests that drive prompts with keystrokes. Keys are sent only
 * after the screen shows what they act on (`waitFor`), so the tests are deterministic. Everything the CLI writes is
 * also fed to a terminal emulator (@xterm/headless, the emulator of VS Code's terminal), so a test can read the
 * screen and the scrollback as a user would see them (`lines()`), at any size, and after a resize (`resize`); what the
 * emulator answers to a query (DA1, `CSI c`) is written back to the CLI, as a terminal's answer is.
 */
import {stripVTControlCharacters} from 'node:util'
import pty from 'node-pty'
import xterm from '@xterm/headless'
import {BIN} from '../helpers.js'

/** How long to wait for the screen or the exit before failing with the output so far. */
export const WAIT_TIMEOUT = 10_000

/** Sessions still running; `killRunning()` in an afterEach ends those a failed test left waiting for keys. */
const running: PtySession[] = []

/** Kills every session still running. */
export function killRunning(): void {
  for (const session of running.splice(0)) session.kill()
}

/** The CLI running in a pseudo-terminal. */
export class PtySession {
  private raw = ''
  private exited?: {exitCode: number; signal?: number}
  private readonly proc: pty.IPty
  private readonly exitPromise: Promise<{exitCode: number; signal?: number}>
  private readonly screen: InstanceType<typeof xterm.Terminal>

  /** `size`: the terminal's columns and rows (default 200×50). */
  constructor(args: string[], cwd: string, env: NodeJS.ProcessEnv, size: {cols: number; rows: number} = DEFAULT_SIZE) {
    const clean: Record<string, string> = {}
    for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v
    this.screen = new xterm.Terminal({cols: size.cols, rows: size.rows, scrollback: 10_000, allowProposedApi: true})
    this.proc = pty.spawn(process.execPath, [BIN, ...args], {
      name: 'xterm-256color',
      cols: size.cols,
      rows: size.rows,
      cwd,
      env: clean,
    })
    this.proc.onData((data) => {
      this.raw += data
      this.screen.write(data)
    })
    // The emulator's answers to the CLI's queries (DA1 and the like) go back to it, as a terminal's do.
    this.screen.onData((data) => {
      if (!this.exited) this.proc.write(data)
    })
    this.exitPromise = new Promise((resolve) => {
      this.proc.onExit((e) => {
        this.exited = e
        resolve(e)
      })
    })
    running.push(this)
  }

  /** The CLI's process id (to send it a signal). */
  get pid(): number {
    return this.proc.pid
  }

  /** Everything written so far, without terminal control sequences. */
  get text(): string {
    return stripVTControlCharacters(this.raw)
  }

  /** Everything written so far, control sequences and all (images sent as escape sequences). */
  get output(): string {
    return this.raw
  }

  /** A position in the output; `waitFor(re, mark)` looks only at what came after it. */
  mark(): number {
    return this.raw.length
  }

  /** Waits until the output (after `from`) matches `re`; fails with the output so far after the timeout. */
  async waitFor(re: RegExp, from = 0, timeout = WAIT_TIMEOUT): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeout
    for (;;) {
      const match = stripVTControlCharacters(this.raw.slice(from)).match(re)
      if (match) return match
      if (this.exited)
        throw new Error(
          `process exited (${JSON.stringify(this.exited)}) before the output matched ${re}; output:\n${this.text}`,
        )
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeout} ms waiting for ${re}; output so far:\n${this.text}`)
      await sleep(20)
    }
  }

  /** Sends keys, returning the mark before them. */
  send(keys: string): number {
    const at = this.mark()
    this.proc.write(keys)
    return at
  }

  /** Waits for the process to end; fails with the output after the timeout. */
  async exit(timeout = WAIT_TIMEOUT): Promise<{exitCode: number; signal?: number}> {
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${timeout} ms waiting for exit; output so far:\n${this.text}`)),
        timeout,
      )
    })
    try {
      return await Promise.race([this.exitPromise, timedOut])
    } finally {
      clearTimeout(timer)
    }
  }

  kill(): void {
    if (!this.exited) this.proc.kill()
  }

  /** Resolves once the emulator has taken in everything written so far. */
  settled(): Promise<void> {
    return new Promise((resolve) => this.screen.write('', resolve))
  }

  /**
   * The scrollback and the screen, top to bottom, as the user sees them: one string per terminal row (trailing
   * blanks trimmed), after the emulator has taken in all output so far.
   */
  async lines(): Promise<string[]> {
    await this.settled()
    const buffer = this.screen.buffer.active
    const rows: string[] = []
    for (let i = 0; i < buffer.length; i++) rows.push(buffer.getLine(i)?.translateToString(true) ?? '')
    return rows
  }

  /** The rows of the scrollback and the screen, top to bottom, with whether each continues the one above (a line
   * wider than the terminal, wrapped by it). */
  async rows(): Promise<{text: string; wrapped: boolean}[]> {
    await this.settled()
    const buffer = this.screen.buffer.active
    const rows: {text: string; wrapped: boolean}[] = []
    for (let i = 0; i < buffer.length; i++) {
      const line = buffer.getLine(i)
      rows.push({text: line?.translateToString(true) ?? '', wrapped: line?.isWrapped ?? false})
    }
    return rows
  }

  /** The rows on the screen now (the scrollback left out). */
  async visible(): Promise<string[]> {
    const all = await this.lines()
    return all.slice(this.screen.buffer.active.viewportY, this.screen.buffer.active.viewportY + this.screen.rows)
  }

  /** The size of the terminal now. */
  get size(): {cols: number; rows: number} {
    return {cols: this.screen.cols, rows: this.screen.rows}
  }

  /**
   * Resizes the terminal as a window resize does: the emulator re-wraps what it shows (xterm.js reflows lines, as
   * VTE, tmux and iTerm2 do), then the process gets SIGWINCH. Returns the mark before any output that follows.
   */
  async resize(cols: number, rows: number): Promise<number> {
    await this.settled()
    const at = this.mark()
    this.screen.resize(cols, rows)
    this.proc.resize(cols, rows)
    return at
  }
}

const DEFAULT_SIZE = {cols: 200, rows: 50}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
