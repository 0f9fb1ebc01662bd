#!/usr/bin/env node
// The I/O floor of a dataset-wide tag rename, a baseline for bench/vocabulary.bench.js: read every caption in
// FOLDER and, where it holds the tag FROM, replace the file atomically (temp file beside it, rename over it) with
// FROM swapped for TO, then one `sync -f`. No journal, state, vocabulary, lock or parsing beyond a string replace:
// only the reads and atomic replacements any safe rename of those captions has to make.
// Usage: node bench/floor-replace.js FOLDER FROM TO
import {spawnSync} from 'node:child_process'
import {closeSync, openSync, readdirSync, readFileSync, renameSync, writeSync} from 'node:fs'
import {join} from 'node:path'

const [dir, from, to] = process.argv.slice(2)
let n = 0
for (const name of readdirSync(dir)) {
  if (!name.endsWith('.txt') || name === 'tags.txt') continue
  const path = join(dir, name)
  const tags = readFileSync(path, 'utf8').trim().split(', ')
  if (!tags.includes(from)) continue
  const tmp = join(dir, `.floor-tmp-${n++}-${name}`)
  const fd = openSync(tmp, 'wx')
  writeSync(fd, tags.map((t) => (t === from ? to : t)).join(', ') + '\n')
  closeSync(fd)
  renameSync(tmp, path)
}
spawnSync('sync', ['-f', dir])
