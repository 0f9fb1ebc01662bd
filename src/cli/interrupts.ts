/**
 * The stop-signal handler every `lora` process installs (BaseCommand.init and the fast path): SIGINT, SIGTERM and
 * SIGHUP never cut a journaled change in half. What each signal does is decided by the store
 * (store/interrupts.ts `requestStop`): with no change in flight, the process removes its lock, says so and exits
 * at once; during a change, it says it is finishing, and the command stops with InterruptedError once the change
 * is done; a third signal stops at once, leaving the change to the next command. Exit codes: 130 (SIGINT), 143
 * (SIGTERM), 129 (SIGHUP), README "Exit codes".
 */
import {signalExitCode, type StopSignal} from '../errors.js'
import {requestStop} from '../store/interrupts.js'

const SIGNALS: StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
let installed = false

/**
 * Installs the handler once per process.
 * @param write prints one line for a person on stderr (SIGHUP: the terminal may be gone; a failed write is ignored)
 */
export function installStopHandlers(write: (line: string) => void = (line) => process.stderr.write(line + '\n')): void {
  if (installed) return
  installed = true
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      const action = requestStop(signal, signal === 'SIGINT' ? 'Ctrl-C' : `${signal} again`)
      try {
        write(action.message)
      } catch {
        // The terminal is gone (SIGHUP): the exit code still says what happened.
      }
      if (action.exitNow) process.exit(signalExitCode(signal))
    })
  }
}
