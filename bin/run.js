#!/usr/bin/env node
// CommonJS (bin/package.json), so that a command run from its bundle never starts Node's ESM loader.
const nodeModule = require('node:module')
const {
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} = require('node:fs')
const {homedir} = require('node:os')
const {dirname, join} = require('node:path')
const {pathToFileURL} = require('node:url')

// Node >= 22.1 caches the compiled code of what it loads by require or import (launch.cjs, oclif's full path, the
// packages a command imports on demand) in its own cache folder; a command's bundle has lora's code cache instead, on
// every Node version (loadBundle).
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
  let buildId
  try {
    const info = launchInfo()
    const manifest = info ?? JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8'))
    buildId = info?.buildId
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
  const loaded = bundle ? loadBundle(bundle, launch.relativePath, buildId, support) : undefined
  if (loaded) await loaded.runLean(loaded.default, launch.id, launch.argv, context)
  else {
    // oclif's `execute`, with errors that escape every command printed in lora's form (src/cli/top-level.ts).
    const {runOclif} = await import('../dist/cli/top-level.js')
    // oclif finds package.json from the folder given: the package's (bin/package.json only sets CommonJS here).
    await runOclif(argv, pathToFileURL(join(root, 'package.json')).href)
  }
}

/**
 * dist/bundle/launch.json (scripts/bundle-commands.js): the build's id and, per command, the parts of
 * oclif.manifest.json that src/cli/launch.ts and the lean runner read, so that a run does not parse all 78 KB of the
 * manifest. Undefined when it is missing or was made from another manifest (its recorded size differs: a manifest
 * written again without a full build); the caller reads the manifest then.
 */
function launchInfo() {
  try {
    const info = JSON.parse(readFileSync(join(root, 'dist', 'bundle', 'launch.json'), 'utf8'))
    return info.manifestSize === statSync(join(root, 'oclif.manifest.json')).size ? info : undefined
  } catch {
    return undefined
  }
}

/**
 * Loads a command bundle (CommonJS, pure ASCII: scripts/bundle-commands.js), or undefined when it cannot be read.
 * It is run as a vm.Script with V8's code cache, on every Node version (Node 22's module compile cache alone saved
 * less: it is made when the module is compiled, before any function ran, so it holds few compiled functions). The
 * cache is kept in lora's cache folder (`code-cache/`, beside downloaded models; see src/core/cache-dir.ts), one file
 * per bundle, Node version and build (the bundle's size and mtime, and the build id of dist/bundle/launch.json),
 * written once, after the first run (so it holds the functions that ran, compiled), by a temp file renamed into place,
 * which replaces the bundle's files of other builds. A cache file is read without following a symbolic link; one that
 * cannot be read, or that V8 rejects, only costs the speed-up (and is written anew), as does one that cannot be
 * written. Without a build id (no launch.json) the bundle is required as any module. Not through the fs adapter: it
 * is not a dataset file, and it must not shift the failpoint seam's count of a command's mutations.
 */
function loadBundle(path, name, buildId, {cacheDirFor}) {
  const requireFromBundle = nodeModule.createRequire(path)
  const bundle = readWhole(path, 0)
  if (bundle === undefined) return undefined
  if (!buildId) return requireFromBundle(path)
  const vm = require('node:vm')
  const prefix = `${name.replace(/[/\\]/gu, '-')}-${process.version}-${process.arch}-`
  const file = `${prefix}${bundle.size}-${Math.trunc(bundle.mtimeMs)}-${buildId}.bin`
  const cachePath = join(cacheDirFor(process.env, process.platform, homedir()), 'code-cache', file)
  // Neither through a link nor blocking on a FIFO left at that name.
  const cachedData = readWhole(cachePath, (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0))?.data
  const script = new vm.Script(
    // latin1: one byte per character, no UTF-8 decoding (the bundles are ASCII).
    `(function (exports, require, module, __filename, __dirname, __loraImportFromRunner) {${bundle.data.toString('latin1')}\n})`,
    {filename: path, cachedData},
  )
  if (cachedData === undefined || script.cachedDataRejected)
    process.once('exit', () => {
      try {
        mkdirSync(dirname(cachePath), {recursive: true})
        const temp = `${cachePath}.${process.pid}.tmp`
        // `wx`: a new file, never through a link left at that name.
        writeFileSync(temp, script.createCachedData(), {flag: 'wx'})
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

/**
 * The whole content of the regular file at `path` (opened with `flags` besides O_RDONLY) with its size and mtime, or
 * undefined when it cannot be opened or read, is not a regular file, or changed size while read.
 */
function readWhole(path, flags) {
  let fd
  try {
    fd = openSync(path, constants.O_RDONLY | flags)
    const stat = fstatSync(fd)
    if (!stat.isFile()) return undefined
    const data = Buffer.allocUnsafe(stat.size)
    let read = 0
    for (let n; read < stat.size && (n = readSync(fd, data, read, stat.size - read, read)) > 0;) read += n
    return read === stat.size ? {data, size: stat.size, mtimeMs: stat.mtimeMs} : undefined
  } catch {
    return undefined
  } finally {
    if (fd !== undefined)
      try {
        closeSync(fd)
      } catch {
        // nothing to do
      }
  }
}
