#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.js in turn (or the ones named: `npm run bench -- vocabulary`).
// Benchmarks are never part of `npm test`; each prints its figures as ratios to a baseline measured in the same run.
// suite.bench.js (all the project's targets; writes bench/results.json) runs last, so its table ends the output.
// Before each benchmark, waits until dist/ holds a complete build (someone may be rebuilding); a benchmark that
// fails is reported and the others still run (exit 1 at the end).
import {execFileSync} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {snapshotCli} from './lib.js'

const here = dirname(fileURLToPath(import.meta.url))
const wanted = process.argv.slice(2)
const last = (n) => (n === 'suite.bench.js' ? 1 : 0)
const all = readdirSync(here)
  .filter((n) => n.endsWith('.bench.js'))
  .sort((a, b) => last(a) - last(b) || (a < b ? -1 : 1))
const chosen = wanted.length ? all.filter((n) => wanted.some((w) => n.startsWith(w))) : all
const failed = []
for (const name of chosen) {
  console.log(`\n=== ${name} ===`)
  snapshotCli() // returns once the build in dist/ is complete
  try {
    execFileSync(process.execPath, [join(here, name)], {stdio: 'inherit'})
  } catch (error) {
    failed.push(name)
    console.error(
      `${name} failed (${error.status === null ? error.signal : `exit ${error.status}`}); going on with the others.`,
    )
  }
}
if (failed.length) {
  console.error(`\nFailed: ${failed.join(', ')}`)
  process.exitCode = 1
}
