/**
 * The typed errors of `lora`. Each carries the process exit code the top-level handler uses and, for errors the
 * user can fix, a `hint` saying what to do next. Raised anywhere in core/services; printed once by
 * `BaseCommand.catch`. Exit codes are documented in README.md ("Exit codes").
 */

/**
 * Exit codes: 0 ok, 1 error, 2 usage / needs a terminal, 3 no dataset, 4 validation failed, 5 busy, 130 cancelled
 * or interrupted by SIGINT, 143 interrupted by SIGTERM, 129 interrupted by SIGHUP (128 + the signal's number, the
 * shell's convention).
 */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  noDataset: 3,
  validation: 4,
  busy: 5,
  cancelled: 130,
  sigint: 130,
  sigterm: 143,
  sighup: 129,
} as const

/** The signals lora stops on cleanly (README "Safety model": interrupts). */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP'

/** The exit code for a stop by `signal`: 128 + its number (130, 143, 129). */
export function signalExitCode(signal: StopSignal): number {
  return signal === 'SIGINT' ? ExitCode.sigint : signal === 'SIGTERM' ? ExitCode.sigterm : ExitCode.sighup
}

/** Base class: an expected failure the user can act on. `code` is a stable machine-readable name. */
export class LoraError extends Error {
  readonly exitCode: number
  readonly code: string
  readonly hint?: string

  constructor(message: string, options: {code?: string; exitCode?: number; hint?: string; cause?: unknown} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.code = options.code ?? 'error'
    this.exitCode = options.exitCode ?? ExitCode.error
    this.hint = options.hint
  }
}

/** Bad flags or arguments, or a combination that makes no sense (exit 2). */
export class UsageError extends LoraError {
  constructor(message: string, hint?: string) {
    super(message, {code: 'usage', exitCode: ExitCode.usage, hint})
  }
}

/** The command needs an interactive terminal and has none (exit 2); the hint names the non-interactive way. */
export class NeedsTerminalError extends LoraError {
  constructor(message: string, hint: string) {
    super(message, {code: 'needs-terminal', exitCode: ExitCode.usage, hint})
  }
}

/** No dataset found, or several candidates (exit 3). */
export class NoDatasetError extends LoraError {
  constructor(message: string, hint: string) {
    super(message, {code: 'no-dataset', exitCode: ExitCode.noDataset, hint})
  }
}

/** Validation found errors (exit 4). Reserved for `lora validate`. */
export class ValidationFailedError extends LoraError {
  constructor(message: string, hint?: string) {
    super(message, {code: 'validation-failed', exitCode: ExitCode.validation, hint})
  }
}

/** Another process holds the dataset's lock (exit 5). */
export class DatasetBusyError extends LoraError {
  constructor(message: string, hint: string) {
    super(message, {code: 'busy', exitCode: ExitCode.busy, hint})
  }
}

/** The user cancelled (Ctrl-C or Esc in a prompt); nothing was written (exit 130). */
export class CancelledError extends LoraError {
  constructor(message = 'Cancelled; nothing was written.') {
    super(message, {code: 'cancelled', exitCode: ExitCode.cancelled})
  }
}

/**
 * The process got SIGINT, SIGTERM or SIGHUP while a journaled change was being applied; the change was finished
 * first (nothing is half-done), then the command stopped. Exit 130 / 143 / 129 (signalExitCode). The message says
 * what was finished.
 */
export class InterruptedError extends LoraError {
  readonly signal: StopSignal
  constructor(signal: StopSignal, message: string, hint?: string) {
    super(message, {code: 'interrupted', exitCode: signalExitCode(signal), hint})
    this.signal = signal
  }
}

/** `.lora-tagger/config.yaml` has an unknown key or a bad value (exit 1). */
export class ConfigError extends LoraError {
  constructor(message: string, hint?: string) {
    super(message, {code: 'config', exitCode: ExitCode.error, hint})
  }
}

/** A dataset file (state, journal, caption) is unreadable or inconsistent (exit 1). */
export class DatasetError extends LoraError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, {code: 'dataset', exitCode: ExitCode.error, hint, cause})
  }
}

/**
 * A change would take in a caption whose tags hold a control or bidi character (core/terminal-text.ts
 * captionTagsProblem; exit 1, code `caption-control`); nothing was written.
 */
export class CaptionControlError extends LoraError {
  constructor(message: string, hint: string) {
    super(message, {code: 'caption-control', exitCode: ExitCode.error, hint})
  }
}

/**
 * A caption in the git history (an old version `lora undo` would bring back or compare) larger than the caption cap
 * (core/caption-encoding.ts CAPTION_MAX_BYTES; exit 1, code `caption-too-large`): nothing of it was read, and
 * nothing was written. The message names the file, the commit, its size and the cap.
 */
export class HistoryCaptionTooLargeError extends LoraError {
  constructor(message: string, hint: string) {
    super(message, {code: 'caption-too-large', exitCode: ExitCode.error, hint})
  }
}

/** A programmer error: a state the code believed impossible (exit 1; please report). */
export class BugError extends LoraError {
  constructor(message: string) {
    super(message, {
      code: 'bug',
      exitCode: ExitCode.error,
      hint: 'This is a bug in lora; please report it with the command you ran.',
    })
  }
}

/** A file-system failure the user can act on: disk full, read-only, permission denied (exit 1). */
export class FileSystemError extends LoraError {
  constructor(message: string, hint: string, cause?: unknown) {
    super(message, {code: 'file-system', exitCode: ExitCode.error, hint, cause})
  }
}

/** What kind of file stands where a regular file was expected (adapters/fs.ts `NotRegularFileError`). */
export type OddFileKind = 'symlink' | 'folder' | 'fifo' | 'device' | 'socket' | 'other'

/** "a symbolic link", "a folder", ...: how messages name an odd file's kind. */
export function oddFileKindText(kind: OddFileKind): string {
  switch (kind) {
    case 'symlink':
      return 'a symbolic link'
    case 'folder':
      return 'a folder'
    case 'fifo':
      return 'a FIFO (named pipe)'
    case 'device':
      return 'a device file'
    case 'socket':
      return 'a socket'
    default:
      return 'not a regular file'
  }
}

/**
 * Turns a Node system error that a person can cause or fix into a FileSystemError naming the file and the next
 * step; returns undefined for anything else (a real bug). Covered: ENOSPC/EDQUOT (disk full), EROFS, EACCES/EPERM,
 * EISDIR (a folder where lora expects a file), ENOTDIR (a file where it expects a folder), ELOOP (a symbolic link
 * loop), ENOTREG (adapters/fs.ts NotRegularFileError: a link, FIFO or device where lora expects a regular file), EEXIST
 * from mkdir (a file where a folder belongs), ENAMETOOLONG, EMFILE/ENFILE (too many open files), EIO. The one place these are mapped: every command's
 * error printer (ui/report-error.ts) calls it. Changes are journaled, so after such a failure the next lora command
 * finishes (or the user's rerun redoes) an interrupted change.
 * @param found what the caller found on disk: for ENOTDIR, the file in the way (adapters/fs.ts fileInTheWay)
 */
export function fromSystemError(error: unknown, found: {fileInTheWay?: string} = {}): FileSystemError | undefined {
  const e = error as NodeJS.ErrnoException & {dest?: string; notRealFolder?: 'link' | 'file'}
  if (!e || typeof e.code !== 'string') return undefined
  // A rename or link onto a folder fails with EISDIR about its destination.
  const path = (e.code === 'EISDIR' && e.dest) || e.path || ''
  const where = e.path ? ` (${e.syscall ?? 'writing'} ${e.path}${e.dest ? ` → ${e.dest}` : ''})` : ''
  const resume =
    'Nothing is lost: a change that was under way is kept in .lora-tagger/journal.json and finished by the next lora command.'
  // A failed read changed nothing; a failed write may have interrupted a change, which the journal keeps.
  const make = (message: string, hint: string) =>
    new FileSystemError(message, e.syscall === 'read' ? hint : `${hint} ${resume}`, error)
  switch (e.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return make(`No space left on the device${where}.`, 'Free some space, then rerun the command.')
    case 'EROFS':
      return make(`The file system is read-only${where}.`, 'Make it writable, or work on a copy of the dataset.')
    case 'EACCES':
    case 'EPERM':
      return make(`Permission denied${where}.`, 'Check the permissions of the dataset and output folders.')
    case 'EISDIR':
      return make(
        path
          ? `${path} is a folder, where lora expects a file${where}.`
          : `A folder is where lora expects a file${where}.`,
        'Move that folder out of the way (lora never deletes it), then rerun the command.',
      )
    case 'EEXIST':
      // Only mkdir's EEXIST is a person's doing (a file where a folder belongs); others are lora's own checks.
      if (e.syscall !== 'mkdir') return undefined
      return make(
        `${path} is a file, where lora expects a folder.`,
        'Move that file out of the way, or choose another path, then rerun the command.',
      )
    case 'ENOTDIR':
      // adapters/fs.ts makeDirBelow: a link (or a file) where lora keeps a folder of its own; nothing was written.
      if (e.notRealFolder)
        return new FileSystemError(
          e.notRealFolder === 'link'
            ? `${path} is a symbolic link, where lora keeps a folder of its own; lora reads and writes nothing through it.`
            : `${path} is a file, where lora keeps a folder of its own.`,
          'A dataset from elsewhere may hold one: replace it with a real folder (or remove it: lora makes its caches again), then rerun the command.',
          error,
        )
      return make(
        found.fileInTheWay
          ? `${found.fileInTheWay} is a file, where lora expects a folder${where}.`
          : path
            ? `A part of ${path} is a file, where lora expects a folder${where}.`
            : `A file is where lora expects a folder${where}.`,
        'Something on that path is a file where a folder belongs (the dataset, its output folder, .lora-tagger/, or a destination): move it out of the way, or choose another path, then rerun the command.',
      )
    case 'ENOTREG': {
      // adapters/fs.ts NotRegularFileError: a no-follow open found a link, FIFO, device or folder where lora expects
      // a regular file; nothing was read or written through it.
      const kind = (e as {kind?: OddFileKind}).kind ?? 'other'
      const is =
        kind === 'other' ? 'is not a regular file' : `is ${oddFileKindText(kind)}, where lora expects a regular file`
      return new FileSystemError(
        `${path} ${is}; lora reads and writes nothing through it.`,
        'Replace it with the real file (or remove it), then rerun the command.',
        error,
      )
    }
    case 'ELOOP':
      return make(
        `Too many levels of symbolic links${where}.`,
        'A symbolic link points to itself (directly or through others); replace it with the real file or folder.',
      )
    case 'ENAMETOOLONG':
      return make(`A file name is too long${where}.`, 'Use a shorter folder path or --prefix, then rerun the command.')
    case 'EMFILE':
    case 'ENFILE':
      return make(
        `Too many open files${where}.`,
        'Raise the limit (`ulimit -n 4096`) or close other programs, then rerun the command.',
      )
    case 'EIO':
      return make(
        `Input/output error${where}.`,
        'The disk or network file system failed; check it (dmesg), then rerun the command.',
      )
    default:
      return undefined
  }
}

/**
 * Why `lora models pull|list|rm` failed (exit 1), as `code`: `network` (the hub could not be reached, or the
 * transfer was cut: rerunning resumes it), `hub-auth` (401/403: a private or gated repository; HF_TOKEN),
 * `hub-not-found` (404: the repository, revision or file does not exist), `hub` (another HTTP status),
 * `checksum` (the file's sha256 is not the one the hub states; the download was removed), `model-invalid` (the
 * files are not a WD14-family tagger), `model-not-found` (no such pulled model).
 */
export type ModelErrorCode =
  'network' | 'hub-auth' | 'hub-not-found' | 'hub' | 'checksum' | 'model-invalid' | 'model-not-found'

/** A model could not be downloaded, verified, found or removed (exit 1); `code` says which (ModelErrorCode). */
export class ModelError extends LoraError {
  constructor(code: ModelErrorCode, message: string, hint: string, cause?: unknown) {
    super(message, {code, exitCode: ExitCode.error, hint, cause})
  }
}
