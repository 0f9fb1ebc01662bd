/**
 * Shows images to the user, one viewer at a time (README "lora next", "The viewer"). The viewer command is the one
 * the user chose (services/viewer-choice.ts: `--viewer`, `LORA_VIEWER` or the user's own config, never a dataset's),
 * run as `sh -c '<command> "$@"' lora-viewer <path>`: the user's command is the only shell text, the image path is
 * passed as one argument whatever characters it holds. `none` shows nothing; no command means the system viewer
 * (the `open` package: xdg-open, macOS `open`, Windows `start`).
 *
 * Each viewer is started detached, in its own process group (so a viewer that forks, or `sh` and what it runs, are
 * closed together), with stdio ignored, and lora never waits for it to end. `show` closes the previous viewer before
 * it starts the next; `close` closes the last one (the tagging session calls it however the run ends), and a process
 * `exit` hook closes it when lora exits some other way (a stop signal, src/cli/interrupts.ts, ends with
 * `process.exit`). Closing sends SIGTERM to the group, then SIGKILL to what is left after a short grace.
 *
 * Failures are reported, not swallowed: a viewer that cannot be started, that is not found (`sh` exits 127), or
 * that exits non-zero (or by a signal) within EARLY_EXIT_MS of its start, gives one warning per session with the
 * cause and the fix; so does the system viewer on Linux without a display (neither DISPLAY nor WAYLAND_DISPLAY set:
 * then it is not started). The system viewer hands the file to an app lora cannot close: a note says so once.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {extensionOf, IMAGE_EXTENSIONS} from '../core/naming.js'

/** A viewer that ends within this many milliseconds of its start, non-zero or by a signal, failed. */
export const EARLY_EXIT_MS = 300
/** Milliseconds a viewer being closed gets between SIGTERM and SIGKILL. */
export const CLOSE_GRACE_MS = 500
/** The same grace while lora itself exits (a synchronous wait there, so it is kept short), in milliseconds. */
const EXIT_GRACE_MS = 100

/** How to choose another viewer, the end of every failure warning. */
const FIX =
  'set LORA_VIEWER, --viewer or "viewer" in your own config (~/.config/lora/config.yaml) to an image viewer you have, or LORA_VIEWER=none to tag without one'

/** One line for stderr: a warning (something failed) or a note (how things are). */
export interface ViewerMessage {
  level: 'warning' | 'note'
  text: string
}

/** Where the viewer runs; the defaults are this process's. For tests and for messages. */
export interface ViewerOptions {
  env?: NodeJS.ProcessEnv
  platform?: NodeJS.Platform
}

/** A started viewer. */
interface Running {
  child: ChildProcess
  /** Its process group (= its pid), when it leads one (detached, not on Windows). */
  group: boolean
  /** What the messages call it: the command, or `the system viewer (xdg-open)`. */
  label: string
  startedAt: number
  /** Set once lora closes it: its exit then is no failure. */
  closing: boolean
  /** Resolves when it has exited (at once when it already has). */
  exited: Promise<void>
}

/**
 * One image viewer at a time, for one tagging session. Never throws: every failure becomes a message for the
 * caller to print (`show` and `close` return them; each failure warning is given once per session).
 */
export class ImageViewer {
  private current?: Running
  /** A failure warning was given (or is pending): no more of them this session. */
  private warned = false
  /** The note about the system viewer was given. */
  private noted = false
  /** A viewer was still running EARLY_EXIT_MS after its start: later ones are not waited for. */
  private proven = false
  /** Messages found after `show` returned (a later viewer's early failure), for the next `show` or `close`. */
  private pending: ViewerMessage[] = []
  private readonly env: NodeJS.ProcessEnv
  private readonly platform: NodeJS.Platform
  private readonly onProcessExit = () => {
    if (this.current) closeNow(this.current)
  }

  /**
   * @param command the viewer command (the image path is appended), `none` for no viewer, or null/undefined for
   *   the system viewer
   */
  constructor(
    readonly command: string | null | undefined,
    options: ViewerOptions = {},
  ) {
    this.env = options.env ?? process.env
    this.platform = options.platform ?? process.platform
  }

  /**
   * Closes the viewer shown before, then shows `path` (absolute). Waits up to EARLY_EXIT_MS for the viewer to fail
   * until one has been seen running that long (or a warning was given), so that a failure is reported before the
   * prompt is drawn; after that, a later failure is reported by the next `show` or by `close`.
   * @returns the lines to print now (warnings and notes)
   */
  async show(path: string): Promise<ViewerMessage[]> {
    await this.closeCurrent()
    const command = this.command?.trim()
    if (command === 'none') return this.take()
    const started = command ? this.startCommand(command, path) : await this.startSystem(path)
    if (started) {
      this.current = started
      process.on('exit', this.onProcessExit)
      if (!this.proven && !this.warned) {
        let timer: NodeJS.Timeout | undefined
        const waited = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), EARLY_EXIT_MS)))
        const runningStill = await Promise.race([waited, started.exited.then(() => false)])
        clearTimeout(timer)
        if (runningStill) this.proven = true
      }
    }
    return this.take()
  }

  /**
   * Closes the viewer shown last, if it still runs (its process group: SIGTERM, then SIGKILL after CLOSE_GRACE_MS).
   * @returns the lines still to print (a failure found after the last `show`)
   */
  async close(): Promise<ViewerMessage[]> {
    await this.closeCurrent()
    return this.take()
  }

  private async closeCurrent(): Promise<void> {
    const running = this.current
    if (!running) return
    this.current = undefined
    process.off('exit', this.onProcessExit)
    await closeGracefully(running)
  }

  private take(): ViewerMessage[] {
    return this.pending.splice(0)
  }

  private warnOnce(text: string): void {
    if (this.warned) return
    this.warned = true
    this.pending.push({level: 'warning', text})
  }

  /** The Linux/BSD desktop needs a display; macOS, Windows and WSL (whose opener is Windows') do not. */
  private noDisplay(): boolean {
    if (this.platform === 'darwin' || this.platform === 'win32') return false
    if (this.env.WSL_DISTRO_NAME || this.env.WSL_INTEROP) return false
    return !this.env.DISPLAY && !this.env.WAYLAND_DISPLAY
  }

  private startCommand(command: string, path: string): Running | undefined {
    let child: ChildProcess
    try {
      child = spawn('sh', ['-c', `${command} "$@"`, 'lora-viewer', path], {detached: true, stdio: 'ignore'})
    } catch (error) {
      this.warnOnce(`could not start the image viewer "${command}" (${(error as Error).message}); ${FIX}.`)
      return undefined
    }
    return this.track(child, `the image viewer "${command}"`, (code) =>
      code === 127
        ? `the image viewer "${command}" was not found (the shell said 127: command not found); install it, or ${FIX}.`
        : code === 126
          ? `the image viewer "${command}" could not be run (the shell said 126: not executable); ${FIX}.`
          : undefined,
    )
  }

  private async startSystem(path: string): Promise<Running | undefined> {
    const opener = this.platform === 'darwin' ? 'open' : this.platform === 'win32' ? 'start' : 'xdg-open'
    const label = `the system viewer (${opener})`
    // The system viewer opens a file by its type, and for some types that means running it (a .desktop file, a
    // script): it is given only files named like the images lora imports, whatever a dataset's state says.
    if (!(IMAGE_EXTENSIONS as readonly string[]).includes(extensionOf(path))) {
      this.pending.push({level: 'warning', text: `not opening ${path} in ${label}: not an image file name`})
      return undefined
    }
    if (this.noDisplay()) {
      this.warnOnce(
        `no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so ${label} cannot show images and is not started; run lora in a graphical session, LORA_VIEWER=inline to draw images in the terminal, or LORA_VIEWER=none to tag without a viewer.`,
      )
      return undefined
    }
    if (!this.noted) {
      this.noted = true
      this.pending.push({
        level: 'note',
        text: `${label} hands each image to an app lora cannot close, so its windows stay open; set LORA_VIEWER (e.g. LORA_VIEWER="feh --scale-down") and lora shows one image at a time and closes it when it is done.`,
      })
    }
    let child: ChildProcess
    try {
      const {default: open} = await import('open')
      child = await open(path, {wait: false})
    } catch (error) {
      this.warnOnce(`could not start ${label} (${(error as Error).message}); ${FIX}.`)
      return undefined
    }
    return this.track(child, label, () => undefined)
  }

  /**
   * Follows a started child: it becomes the current viewer; an early failure gives the warning (`explain` words it
   * for an exit code it knows, else the code or the signal is named).
   */
  private track(child: ChildProcess, label: string, explain: (code: number) => string | undefined): Running {
    let markExited: () => void = () => {}
    const exited = new Promise<void>((resolve) => (markExited = resolve))
    const running: Running = {
      child,
      group: child.pid !== undefined && this.platform !== 'win32',
      label,
      startedAt: Date.now(),
      closing: false,
      exited,
    }
    const noDisplay = this.noDisplay()
    const failed = (cause: string) => {
      const display = noDisplay ? ' (there is no display: neither DISPLAY nor WAYLAND_DISPLAY is set)' : ''
      this.warnOnce(`${cause}${display}; ${FIX}.`)
    }
    child.once('error', (error: NodeJS.ErrnoException) => {
      markExited()
      if (running.closing) return
      failed(
        error.code === 'ENOENT'
          ? `${label} was not found (${error.message})`
          : `${label} could not be started (${error.message})`,
      )
    })
    child.once('exit', (code, signal) => {
      markExited()
      if (running.closing || Date.now() - running.startedAt > EARLY_EXIT_MS) return
      if (code === 0) return
      const known = code === null ? undefined : explain(code)
      if (known) this.warnOnce(known)
      else
        failed(
          `${label} ${code === null ? `was killed by ${signal}` : `exited with status ${code}`} right after it started, so the image is not shown`,
        )
    })
    child.unref()
    return running
  }
}

/** Sends `signal` to the viewer's process group (or to it alone where it leads none); false when none is left. */
function signal(running: Running, name: NodeJS.Signals | 0): boolean {
  const pid = running.child.pid
  if (pid === undefined) return false
  try {
    process.kill(running.group ? -pid : pid, name)
    return true
  } catch {
    return false
  }
}

/** SIGTERM, then SIGKILL to what is left of the group after CLOSE_GRACE_MS. */
async function closeGracefully(running: Running): Promise<void> {
  running.closing = true
  if (!signal(running, 'SIGTERM')) return
  const deadline = Date.now() + CLOSE_GRACE_MS
  let timer: NodeJS.Timeout | undefined
  await Promise.race([running.exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))])
  clearTimeout(timer)
  // The leader has exited (and was reaped); other members of its group may still be going.
  while (signal(running, 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  signal(running, 'SIGKILL')
}

/**
 * The same, synchronously, while lora exits (no event loop any more): SIGTERM, a short wait, SIGKILL. The leader is
 * not reaped during the wait, so the group may look alive for all of EXIT_GRACE_MS.
 */
function closeNow(running: Running): void {
  running.closing = true
  if (!signal(running, 'SIGTERM')) return
  const deadline = Date.now() + EXIT_GRACE_MS
  const pause = new Int32Array(new SharedArrayBuffer(4))
  while (signal(running, 0) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 10)
  signal(running, 'SIGKILL')
}

/**
 * True when the tmux lora runs in lets escape sequences through to the terminal outside (`allow-passthrough` on
 * or all; tmux(1)), asked of the user's own tmux (`tmux show-options -gqv allow-passthrough`, the server `TMUX`
 * names) with a 500 ms limit. False when tmux cannot be asked or says off.
 */
export function tmuxAllowsPassthrough(env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    const result = spawnSync('tmux', ['show-options', '-gqv', 'allow-passthrough'], {
      env,
      timeout: 500,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    return result.status === 0 && /^(on|all)$/u.test(result.stdout.trim())
  } catch {
    return false
  }
}
