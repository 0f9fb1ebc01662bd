#!/usr/bin/env node
import module from 'node:module'

// Node >= 22.1 can cache compiled code between runs, which cuts start-up; older versions skip it.
module.enableCompileCache?.()

// `lora status` and `lora next --print` run without loading oclif when invoked plainly (src/cli/fast-path.ts), also
// with the global flags before the command (`lora -C ds status`).
const argv = process.argv.slice(2)
const {runFastPath} = await import('../dist/cli/fast-path.js')
const code = await runFastPath(argv)
if (code === undefined) {
  // oclif's `execute`, with errors that escape every command printed in lora's form (src/cli/top-level.ts).
  const {runOclif} = await import('../dist/cli/top-level.js')
  await runOclif(argv, import.meta.url)
} else process.exitCode = code
