#!/usr/bin/env node
// Writes bench/data/partial-inputs.txt: 1,000 realistic partial inputs for the autocomplete benchmark, drawn
// deterministically (seeded) from ../shared/data/vocab/danbooru.csv: popular general and character tags, typed
// with spaces for underscores, cut after 1..n characters, about 1 in 7 with a typo (swapped or dropped letter).
// The list is committed so every run measures the same inputs; rerun this only to change it.
import {readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const csv = join(here, '..', '..', 'shared', 'data', 'vocab', 'danbooru.csv')
let seed = 20261121
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31

const tags = readFileSync(csv, 'utf8')
  .split('\n')
  .map((line) => line.split(','))
  .filter((f) => f.length >= 3 && (f[1] === '0' || f[1] === '4'))
  .slice(0, 5000)
  .map((f) => f[0].replaceAll('_', ' '))
const out = []
while (out.length < 1000) {
  // Popular tags are typed more often: pick with a bias towards the top of the list.
  const tag = tags[Math.floor(tags.length * random() ** 2)]
  let typed = tag.slice(0, 1 + Math.floor(random() * tag.length))
  if (typed.length > 3 && random() < 0.15) {
    const at = 1 + Math.floor(random() * (typed.length - 2))
    typed =
      random() < 0.5
        ? typed.slice(0, at) + typed[at + 1] + typed[at] + typed.slice(at + 2)
        : typed.slice(0, at) + typed.slice(at + 1)
  }
  out.push(typed)
}
writeFileSync(join(here, 'data', 'partial-inputs.txt'), out.join('\n') + '\n')
console.log(`wrote ${out.length} inputs`)
