/**
 * What a stop signal (SIGINT, SIGTERM, SIGHUP) may interrupt, and what it must not: the store records here which
 * journaled change is being applied and which writer locks this process holds; the signal handler (src/cli/
 * interrupts.ts) asks `requestStop` what to do. README "Safety model" (interrupts) describes the behaviour:
 *
 * - No change in flight (planning, hashing, a prompt, reading): stop now. The locks this process holds are removed
 *   first; nothing was half-done, so nothing is left to finish. Writes outside the dataset that no journal covers
 *   (an export) are not waited for: the message says what they left incomplete (`writingOutside`).
 * - A journaled change in flight (from just before journal.json is written until the transaction has committed it,
 *   or while an interrupted change is being finished): the change is finished first. The store then throws
 *   InterruptedError at its next check (`throwIfStopRequested`), the transaction releases the lock, and the command
 *   exits with the signal's code and a message saying what was finished.
 * - Work that stops between its units (`lora autotag`'s batches, `stopBetweenUnits`), with no change in flight: the
 *   stop waits for the current unit; the work asks `pendingStop` after each one and throws InterruptedError saying
 *   what it kept. A second signal stops at once, with the same account of what was kept.
 * - A second signal while finishing only warns; a third stops at once (the journal stays, the lock is removed), and
 *   the next lora command finishes the change.
 *
 * Process-wide state, as signals are. In-process test runs (test/in-process.ts) never send signals, so the state
 * stays empty there.
 */
import {InterruptedError, type StopSignal} from '../errors.js'
import {removeFileSync} from '../adapters/fs.js'

/** The change being applied: what it is, for the messages (`moving 300 images`). */
interface InFlight {
  description: string
}

let inFlight: InFlight | undefined
/** The first stop signal received while a change was in flight. */
let stopRequested: StopSignal | undefined
/** How many stop signals arrived while a change was in flight. */
let signalsWhileFinishing = 0
/** Journaled changes this process completed (for the message of a stop between changes). */
let completed = 0
const heldLocks = new Set<string>()
/** Writes under way that no journal covers (an export's destination), each described for a stop's message. */
const outsideWrites = new Set<() => string>()
/** Work that stops between units: the unit's name (`the current batch`) and what a stop now keeps. */
let stoppable: {unit: string; kept: () => string} | undefined
/** Undo steps for a stop before any change: folders this run made that would otherwise look like a dataset. */
const undoBeforeChange = new Set<() => void>()

/**
 * Registers a synchronous step that undoes what a run prepared before its first change (`lora init` removes the
 * `.lora-tagger/` it made), run when a stop signal arrives before that change. Remove it with the returned function
 * once the change has begun or the run is over.
 */
export function onStopBeforeChange(undo: () => void): () => void {
  undoBeforeChange.add(undo)
  return () => undoBeforeChange.delete(undo)
}

/**
 * Marks a journaled change as in flight until `endChange`; nested calls keep the outer description. A stop signal
 * received meanwhile is deferred until the change is finished.
 * @returns true when this call started the in-flight period (the caller must then call endChange)
 */
export function beginChange(description: string): boolean {
  if (inFlight) return false
  inFlight = {description}
  return true
}

/**
 * Ends the in-flight period started by beginChange.
 * @param finished false when the change failed (its journal may be left for the next command)
 */
export function endChange(finished = true): void {
  if (inFlight && finished) completed++
  inFlight = undefined
}

/** The description of the change in flight, if any. */
export function changeInFlight(): string | undefined {
  return inFlight?.description
}

/**
 * After a change finished: when a stop signal arrived during it, throws InterruptedError saying that `finished` was
 * finished and nothing is lost.
 * @param finished what was finished (`moving 300 images`)
 * @throws InterruptedError
 */
export function throwIfStopRequested(finished: string): void {
  if (!stopRequested) return
  throw new InterruptedError(stopRequested, `Interrupted: finished ${finished}; nothing lost.`)
}

/**
 * Records writes under way outside the dataset that no journal covers (an export filling its destination). A stop
 * meanwhile still exits at once (nothing of the dataset is at stake), but its message says what was left incomplete.
 * @param describe says what is incomplete and what to do (`the export to ./train is incomplete (12 of 40 images
 *   written); export again with --force`), asked at the moment of the stop
 * @returns ends the record (call it when the writes are done or failed)
 */
export function writingOutside(describe: () => string): () => void {
  outsideWrites.add(describe)
  return () => outsideWrites.delete(describe)
}

/**
 * Marks work that a stop signal ends between its units rather than at once (`lora autotag` runs the model batch by
 * batch, caching each): the first signal is recorded for the work to see with `pendingStop` after the current unit;
 * a second exits at once.
 * @param unit what the stop waits for, for the message (`the current batch`)
 * @param kept says what is kept when stopping now (`the predictions of 16 images are cached; no caption was changed`)
 * @returns ends the period (call it when the work is done or failed)
 */
export function stopBetweenUnits(unit: string, kept: () => string): () => void {
  const entry = {unit, kept}
  stoppable = entry
  return () => {
    if (stoppable === entry) stoppable = undefined
  }
}

/** The stop signal waiting for the change in flight to finish, if any. */
export function pendingStop(): StopSignal | undefined {
  return stopRequested
}

/** Records a writer lock this process holds (removed by a stop between changes). */
export function lockTaken(path: string): void {
  heldLocks.add(path)
}

/** Records that a writer lock was released. */
export function lockReleased(path: string): void {
  heldLocks.delete(path)
}

/** What the signal handler should do: print `message` and exit with the signal's code now, or print it and wait. */
export type StopAction = {exitNow: true; message: string} | {exitNow: false; message: string}

/**
 * Decides what a stop signal does (see the file comment), removing this process's locks when it is to exit now.
 * @param signal the signal received
 * @param key how the user sends it again, for the message (`Ctrl-C`)
 */
export function requestStop(signal: StopSignal, key: string): StopAction {
  if (!inFlight && stoppable) {
    if (!stopRequested) {
      stopRequested = signal
      return {exitNow: false, message: `Interrupted: stopping after ${stoppable.unit} (${key} again stops now)…`}
    }
    releaseLocksNow()
    return {exitNow: true, message: `Stopped: ${stoppable.kept()}.`}
  }
  if (!inFlight) {
    releaseLocksNow()
    if (completed === 0) {
      for (const undo of undoBeforeChange) {
        try {
          undo()
        } catch {
          // Exiting anyway; what is left is named by the next command.
        }
      }
    }
    const outside = [...outsideWrites].map((describe) => describe())
    if (outside.length > 0)
      return {exitNow: true, message: `Interrupted: ${outside.join('; ')}. The dataset itself was not changed.`}
    return {
      exitNow: true,
      message:
        completed === 0 && !stopRequested
          ? 'Interrupted before anything was changed.'
          : 'Interrupted between changes: every change made before was finished and saved; nothing is half-done.',
    }
  }
  stopRequested ??= signal
  signalsWhileFinishing++
  if (signalsWhileFinishing === 1)
    return {exitNow: false, message: `Interrupted: finishing ${inFlight.description} first, so that nothing is lost…`}
  if (signalsWhileFinishing === 2) {
    return {
      exitNow: false,
      message: `Still finishing ${inFlight.description}. Press ${key} again to stop now: the change stays in .lora-tagger/journal.json and the next lora command finishes it.`,
    }
  }
  releaseLocksNow()
  return {
    exitNow: true,
    message: `Stopped before ${inFlight.description} was finished: the change is kept in .lora-tagger/journal.json, and the next lora command (any, e.g. \`lora status\`) finishes it.`,
  }
}

function releaseLocksNow(): void {
  for (const path of heldLocks) {
    try {
      removeFileSync(path)
    } catch {
      // Exiting anyway: a lock left by a dead process is reclaimed by the next writer.
    }
  }
  heldLocks.clear()
}
