#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.js in turn (or the ones named: `npm run bench -- vocabulary`).
// Benchmarks are never part of `npm test`; each prints its figures as ratios to a baseline measured in the same run.
import {execFileSync} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const wanted = process.argv.slice(2)
const all = readdirSync(here).filter((n) => n.endsWith('.bench.js')).sort()
const chosen = wanted.length ? all.filter((n) => wanted.some((w) => n.startsWith(w))) : all
for (const name of chosen) {
  console.log(`\n=== ${name} ===`)
  execFileSync(process.execPath, [join(here, name)], {stdio: 'inherit'})
}
