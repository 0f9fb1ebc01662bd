#!/usr/bin/env node
import module from 'node:module'
import {existsSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

// Node >= 22.1 can cache compiled code between runs, which cuts start-up; older versions skip it.
module.enableCompileCache?.()

// A command named plainly runs from its bundle (dist/bundle/, `npm run build`) under the lean runner, without loading
// oclif's Config, plugins or help (src/cli/launch.ts says which invocations; src/cli/lean.ts runs them); help, the
// version, unknown words and the rest go through oclif. Both run the same command classes.
const argv = process.argv.slice(2)
const root = new URL('../', import.meta.url)
let launch
let context
try {
  const manifest = JSON.parse(readFileSync(new URL('oclif.manifest.json', root), 'utf8'))
  const pjson = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
  const {planLaunch} = await import('../dist/cli/launch.js')
  launch = planLaunch(argv, manifest.commands, {
    env: process.env,
    stdoutIsTTY: process.stdout.isTTY === true,
    topicSeparator: pjson.oclif.topicSeparator ?? ':',
  })
  context = {root: fileURLToPath(root), manifest, pjson}
} catch {
  launch = undefined // no manifest (a build under way): oclif finds the commands itself
}
const bundle = launch && new URL(launch.relativePath.replace(/^dist\//u, 'dist/bundle/'), root)
// A build without bundles (or one under way) runs everything through oclif.
const loaded = bundle && existsSync(bundle) ? await import(bundle.href) : undefined
if (loaded) await loaded.runLean(loaded.default, launch.id, launch.argv, context)
else {
  // oclif's `execute`, with errors that escape every command printed in lora's form (src/cli/top-level.ts).
  const {runOclif} = await import('../dist/cli/top-level.js')
  await runOclif(argv, import.meta.url)
}
