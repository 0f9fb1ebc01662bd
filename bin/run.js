#!/usr/bin/env node
// CommonJS (bin/package.json), so that a command run from its bundle never starts Node's ESM loader.
const nodeModule = require('node:module')
const {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} = require('node:fs')
const {homedir} = require('node:os')
const {dirname, join} = require('node:path')
const {pathToFileURL} = require('node:url')

// Node >= 22.1 caches compiled code between runs (in its own cache folder); Node 20 gets the code cache below.
nodeModule.enableCompileCache?.()

// A command named plainly runs from its bundle (dist/bundle/, `npm run build`) under the lean runner, without loading
// oclif's Config, plugins or help (src/cli/launch.ts says which invocations; src/cli/lean.ts runs them); help, the
// version, unknown words and the rest go through oclif. Both run the same command classes.
const root = join(__dirname, '..')

main().catch((error) => {
  // Only a bug in this file gets here: every command's errors are handled where it runs.
  console.error(error)
  process.exitCode = 1
})

async function main() {
  const argv = process.argv.slice(2)
  let launch
  let context
  let support
  try {
    const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8'))
    const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    support = require('../dist/bundle/launch.cjs')
    launch = support.planLaunch(argv, manifest.commands, {
      env: process.env,
      stdoutIsTTY: process.stdout.isTTY === true,
      topicSeparator: pjson.oclif.topicSeparator ?? ':',
    })
    context = {root, manifest, pjson}
  } catch {
    launch = undefined // no manifest or no bundles (a build under way): oclif finds the commands itself
  }
  const bundle = launch && join(root, launch.relativePath.replace(/^dist\//u, 'dist/bundle/').replace(/\.js$/u, '.cjs'))
  // A build without bundles (or one under way) runs everything through oclif.
  const loaded = bundle && existsSync(bundle) ? loadBundle(bundle, launch.relativePath, support) : undefined
  if (loaded) await loaded.runLean(loaded.default, launch.id, launch.argv, context)
  else {
    // oclif's `execute`, with errors that escape every command printed in lora's form (src/cli/top-level.ts).
    const {runOclif} = await import('../dist/cli/top-level.js')
    // oclif finds package.json from the folder given: the package's (bin/package.json only sets CommonJS here).
    await runOclif(argv, pathToFileURL(join(root, 'package.json')).href)
  }
}

/**
 * Loads a command bundle (CommonJS). Node >= 22.1 caches its compiled code itself (above). On older Node, it is run
 * as a vm.Script with V8's code cache: kept in lora's cache folder (`code-cache/`, beside downloaded models; see
 * src/core/cache-dir.ts), one file per bundle, Node version and build (the bundle's size and mtime), written once,
 * after the first run (so it holds the functions that ran, compiled), by a temp file renamed into place, which
 * replaces the bundle's files of other builds; a cache that cannot be read, is rejected by V8 or cannot be written
 * only costs the speed-up. Not through the fs adapter: it is not a dataset file, and it must not shift the failpoint
 * seam's count of a command's mutations.
 */
function loadBundle(path, name, {cacheDirFor}) {
  const requireFromBundle = nodeModule.createRequire(path)
  if (nodeModule.enableCompileCache) return requireFromBundle(path)
  const vm = require('node:vm')
  const source = readFileSync(path, 'utf8')
  const stat = statSync(path)
  const prefix = `${name.replace(/[/\\]/gu, '-')}-${process.version}-${process.arch}-`
  const file = `${prefix}${stat.size}-${Math.trunc(stat.mtimeMs)}.bin`
  const cachePath = join(cacheDirFor(process.env, process.platform, homedir()), 'code-cache', file)
  let cachedData
  try {
    cachedData = readFileSync(cachePath)
  } catch {
    // none yet
  }
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname, __loraImportFromRunner) {${source}\n})`,
    {filename: path, cachedData},
  )
  if (cachedData === undefined || script.cachedDataRejected)
    process.once('exit', () => {
      try {
        mkdirSync(dirname(cachePath), {recursive: true})
        const temp = `${cachePath}.${process.pid}.tmp`
        writeFileSync(temp, script.createCachedData())
        renameSync(temp, cachePath)
        // The caches of this bundle's earlier builds (or of other copies of it) are of no more use.
        for (const other of readdirSync(dirname(cachePath)))
          if (other.startsWith(prefix) && other.endsWith('.bin') && other !== file)
            rmSync(join(dirname(cachePath), other), {force: true})
      } catch {
        // no cache: the next run compiles again
      }
    })
  const bundleModule = {exports: {}}
  // `import()` of a package the bundle leaves outside (scripts/bundle-commands.js HEAVY), from here: a vm.Script
  // cannot import by itself.
  script
    .runInThisContext()
    .call(
      bundleModule.exports,
      bundleModule.exports,
      requireFromBundle,
      bundleModule,
      path,
      dirname(path),
      (s) => import(s),
    )
  return bundleModule.exports
}
