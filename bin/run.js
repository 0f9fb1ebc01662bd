#!/usr/bin/env node
import module from 'node:module'

// Node >= 22.1 can cache compiled code between runs, which cuts start-up; older versions skip it.
module.enableCompileCache?.()

// `lora status` and `lora next --print` run without loading oclif when invoked plainly (src/cli/fast-path.ts).
const {runFastPath} = await import('../dist/cli/fast-path.js')
const code = await runFastPath(process.argv.slice(2))
if (code === undefined) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
} else process.exitCode = code
