/**
 * What oclif's full path of bin/run.js (LORA_NO_FAST_PATH=1) prints for many invocations, from one Node process:
 * test/e2e/fast-path.test.ts compares the fast path with these instead of starting a process per invocation (each
 * costs a Node start and a load of oclif's Config and plugins). `node oclif-reference.mjs jobs.json results.json`:
 * jobs.json is `[{args, cwd}]`; results.json gets `[{stdout, stderr, code}]`, one per job, in order. The environment
 * is this process's own (one process per environment: colour support is decided from it once per process).
 *
 * Each job runs as bin/run.js runs oclif (`runOclif` of dist/cli/top-level.js, with the package.json URL bin/run.js
 * gives it), in its `cwd`, with process.argv as the binary's. What a process does once, and differs here, is made
 * per job:
 * - stdout and stderr: their `write` is replaced for the job, the bytes kept (console.log and oclif's ux write there
 *   too); nothing reaches the real streams. They are pipes, as under the tests' spawn, so nothing is a TTY.
 * - process.exit: as Node's, sets process.exitCode and runs the job's 'exit' listeners; then, as the process would
 *   be gone, everything written after it is dropped and a second exit does nothing. Without one, the code is
 *   process.exitCode at the end (reset before each job) and the job's 'exit' listeners run then, as when a process
 *   ends by itself.
 * - Every listener the job left on process, stdout and stderr is removed after it (oclif's flush leaves a 'drain'
 *   listener each time: ten would make Node print a MaxListenersExceededWarning).
 * test/e2e/fast-path.test.ts checks a sample of these results against spawned `LORA_NO_FAST_PATH=1` processes.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const [jobsFile, resultsFile] = process.argv.slice(2)
const jobs = JSON.parse(readFileSync(jobsFile, 'utf8'))
const {runOclif} = await import(pathToFileURL(join(root, 'dist', 'cli', 'top-level.js')).href)
const packageUrl = pathToFileURL(join(root, 'package.json')).href
const bin = join(root, 'bin', 'run.js')
const realExit = process.exit.bind(process)
const emitters = [process, process.stdout, process.stderr]

/** Every listener on `emitter`, by event name. */
function listenersOf(emitter) {
  return new Map(emitter.eventNames().map((name) => [name, emitter.rawListeners(name)]))
}

/** Resolves once pending callbacks, promise jobs and short timers of the job have run. */
function settle() {
  return new Promise((resolve) => setTimeout(resolve, 20))
}

const results = []
for (const {args, cwd} of jobs) {
  const output = {stdout: [], stderr: []}
  let exited
  for (const name of ['stdout', 'stderr'])
    process[name].write = (chunk, encoding, callback) => {
      const done = typeof encoding === 'function' ? encoding : callback
      if (exited === undefined)
        output[name].push(typeof chunk === 'string' ? Buffer.from(chunk, encoding ?? 'utf8') : Buffer.from(chunk))
      if (typeof done === 'function') process.nextTick(done)
      return true
    }
  const before = emitters.map(listenersOf)
  /** Runs the 'exit' listeners the job added, once, as a process's exit does. */
  let exitListenersRan = false
  const runExitListeners = (code) => {
    if (exitListenersRan) return
    exitListenersRan = true
    for (const listener of process.rawListeners('exit')) if (!before[0].get('exit')?.includes(listener)) listener(code)
  }
  // As Node's: sets exitCode, runs the 'exit' listeners; then the process is gone, so nothing more is kept.
  process.exit = (code) => {
    if (exited !== undefined) return
    if (code !== undefined) process.exitCode = code
    runExitListeners(process.exitCode ?? 0)
    exited = process.exitCode ?? 0
  }
  process.exitCode = undefined
  process.argv = [process.argv[0], bin, ...args]
  process.chdir(cwd)
  await runOclif(args, packageUrl)
  await settle()
  const code = exited ?? process.exitCode ?? 0
  runExitListeners(code)
  for (const [index, emitter] of emitters.entries())
    for (const name of emitter.eventNames())
      for (const listener of emitter.rawListeners(name))
        if (!before[index].get(name)?.includes(listener)) emitter.removeListener(name, listener)
  results.push({
    stdout: Buffer.concat(output.stdout).toString('utf8'),
    stderr: Buffer.concat(output.stderr).toString('utf8'),
    code,
  })
}
writeFileSync(resultsFile, JSON.stringify(results))
realExit(0)
