/**
 * Helpers of the `lora tags` tests (test/commands/tags.test.ts in-process, test/e2e/tags.test.ts through the binary):
 * snapshots of folders, reading captions and tags.txt, the state/caption agreement check, config edits, and an
 * independent reading of tagcomplete CSV files. Real files only.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join, relative} from 'node:path'
import {parseCaption} from '../src/core/caption.js'
import {readState, sha256, type RunResult} from './helpers.js'

/** The four fixture images of the template dataset: img_0001..img_0003 (.jpg) and img_0004 (.png). */
export const TEMPLATE_IMAGES = [
  'plasma-Autumn-screenshot.jpg',
  'plasma-Kite-screenshot.jpg',
  'plasma-Path-screenshot.jpg',
  'skimage-horse.png',
]

/** Captions used by most tests (img_0001..img_0004). */
export const CAPTIONS = ['a, longhair, b', 'longhair, smile, long hair', 'long hair, smile, longhair', 'smile']

/** Every file below `dir`, relative, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  async function walk(d: string): Promise<void> {
    for (const entry of await fsp.readdir(d, {withFileTypes: true})) {
      const abs = join(d, entry.name)
      if (entry.isDirectory()) {
        out.push(relative(dir, abs) + '/')
        await walk(abs)
      } else out.push(relative(dir, abs))
    }
  }
  await walk(dir)
  return out.sort()
}

/** Every folder and file below `dir` with each file's sha256: equal snapshots mean nothing changed. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const snap: Record<string, string> = {}
  for (const f of await listFiles(dir)) {
    // Derived caches (config, autocomplete index) are rebuilt whenever stale; they are not user data.
    if (/(^|\/)\.lora-tagger\/cache\//u.test(f) && !f.endsWith('vocabulary.idx')) continue
    snap[f] = f.endsWith('/') ? 'dir' : await sha256(join(dir, f))
  }
  return snap
}

/** A file's text (UTF-8). */
export const read = (path: string) => fsp.readFile(path, 'utf8')
/** The caption text of image number `n` (img_000n.txt in output/). */
export const caption = (dir: string, n: number) => read(join(dir, 'output', `img_${String(n).padStart(4, '0')}.txt`))
/** The text of output/tags.txt. */
export const vocabulary = (dir: string) => read(join(dir, 'output', 'tags.txt'))
/** The non-blank lines of a run's stderr. */
export const stderrLines = (r: RunResult) => r.stderr.split('\n').filter((l) => l.trim() !== '')
/** The non-blank lines of a run's stdout. */
export const stdoutLines = (r: RunResult) => r.stdout.split('\n').filter((l) => l.trim() !== '')

/** Problems where state.json disagrees with the caption files (empty when consistent). */
export async function stateProblems(dir: string): Promise<string[]> {
  const problems: string[] = []
  const state = await readState(dir)
  for (const image of state.images) {
    const text = await read(join(dir, 'output', image.file.replace(/\.[^.]+$/u, '.txt'))).catch(() => undefined)
    if (text === undefined) {
      problems.push(`${image.id}: caption missing`)
      continue
    }
    const tags = parseCaption(text)
    if (JSON.stringify(tags) !== JSON.stringify(image.tags))
      problems.push(`${image.id}: caption ${JSON.stringify(tags)} but state.json ${JSON.stringify(image.tags)}`)
  }
  return problems
}

/** Sets one top-level key of .lora-tagger/config.yaml. */
export async function setConfig(dir: string, key: string, value: string): Promise<void> {
  const path = join(dir, '.lora-tagger', 'config.yaml')
  const text = await read(path)
  const re = new RegExp(`^${key}:.*$`, 'mu')
  const next = re.test(text) ? text.replace(re, `${key}: ${value}`) : `${text}${key}: ${value}\n`
  await fsp.writeFile(path, next)
}

/** Parses `lora tags` human output: `count  tag` lines. */
export function parseTagLines(stdout: string): [string, number][] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = /^\s*(\d+) {2}(.+)$/u.exec(l)
      if (!m) throw new Error(`unexpected line: ${JSON.stringify(l)}`)
      return [m[2], Number(m[1])]
    })
}

/** The CSV fields of one line (RFC 4180 quoting; no newlines inside fields in these files). */
export function csvFields(line: string): string[] {
  const fields: string[] = []
  let i = 0
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = ''
      i++
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"'
          i += 2
        } else if (line[i] === '"') {
          i++
          break
        } else value += line[i++]
      }
      fields.push(value)
      i++ // the comma
    } else {
      const end = line.indexOf(',', i)
      fields.push(line.slice(i, end === -1 ? line.length : end))
      i = end === -1 ? line.length + 1 : end + 1
    }
  }
  return fields
}

/** An independent reading of a tagcomplete CSV: name, category, count, aliases per non-blank line. */
export function readCsvIndependently(
  path: string,
): {name: string; category: number; count: number; aliases: string[]}[] {
  return fs
    .readFileSync(path, 'utf8')
    .split(/\r?\n/u)
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [name, category, count, aliases] = csvFields(l)
      return {
        name,
        category: Number(category),
        count: Number(count || 0),
        aliases: (aliases ?? '')
          .split(',')
          .map((a) => a.trim())
          .filter((a) => a !== '' && a !== name),
      }
    })
}
