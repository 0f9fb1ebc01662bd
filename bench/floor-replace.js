#!/usr/bin/env node
// The I/O floor of a dataset-wide tag rename, a baseline for bench/vocabulary.bench.js: read every caption in
// FOLDER and, where it holds the tag FROM, replace the file atomically (temp file beside it, rename over it) with
// FROM swapped for TO, then one `sync -f`. No journal, state, vocabulary, lock or parsing beyond a string replace:
// only the reads and atomic replacements any safe rename of those captions has to make.
//
// Default: the replaced file is held open across the rename and closed on the thread pool (at most 64 at a time),
// as lora's BatchReplacer does (src/adapters/fs.ts), so its inode is freed outside the folder lock.
// --plain: one rename at a time with nothing held, the way a simple script replaces files.
// Usage: node bench/floor-replace.js [--plain] FOLDER FROM TO
import {spawnSync} from 'node:child_process'
import {close, closeSync, constants, openSync, readdirSync, readFileSync, renameSync, writeSync} from 'node:fs'
import {join} from 'node:path'

const args = process.argv.slice(2)
const plain = args[0] === '--plain'
const [dir, from, to] = plain ? args.slice(1) : args
let n = 0
let inFlight = 0
let resume
const closed = () => {
  inFlight--
  if (resume && inFlight <= 32) resume()
}
for (const name of readdirSync(dir)) {
  if (!name.endsWith('.txt') || name === 'tags.txt') continue
  const path = join(dir, name)
  const tags = readFileSync(path, 'utf8').trim().split(', ')
  if (!tags.includes(from)) continue
  const tmp = join(dir, `.floor-tmp-${n++}-${name}`)
  const fd = openSync(tmp, 'wx')
  writeSync(fd, tags.map((t) => (t === from ? to : t)).join(', ') + '\n')
  closeSync(fd)
  const old = plain ? undefined : openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  renameSync(tmp, path)
  if (old === undefined) continue
  inFlight++
  close(old, closed)
  if (inFlight >= 64) await new Promise((r) => (resume = r)).then(() => (resume = undefined))
}
while (inFlight > 0) await new Promise((r) => (resume = r)).then(() => (resume = undefined))
spawnSync('sync', ['-f', dir])
