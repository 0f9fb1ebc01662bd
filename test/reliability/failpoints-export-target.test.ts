/**
 * Failpoint sweeps of `lora export --target` (README "lora export": a killed export leaves no half-written file
 * under a final name; a `--force` rerun finishes it): a kohya folder export that copies some images and re-encodes
 * others, and a civitai zip (staging folder, then the zip streamed into place). For N = 1, 2, ... until a run
 * completes, a fresh copy of the dataset is exported with LORA_FAILPOINT=N (killed before its N-th file mutation);
 * then:
 * - every file already under its final name is complete: images decode, captions are whole lines (files in a
 *   staging folder `.lora-export-*` are not under their final names yet);
 * - the rerun (plain, and `--force` when the plain one is refused as "not empty") exits 0, and the export then
 *   equals an uninterrupted one (file by file; the clone's own folder path replaced in the configs and
 *   lora-export.json), with no temp file or staging folder left;
 * - the dataset is untouched.
 * Fast mode: 8 real photos (7 fixture images without ../shared), N sampled; full mode (LORA_RELIABILITY_FULL=1): 50,
 * every N.
 */
import {createHash} from 'node:crypto'
import * as fsp from 'node:fs/promises'
import {dirname, join} from 'node:path'
import sharp from 'sharp'
import {readZip} from '../zip-helpers.js'
import {
  EVERY_N,
  FULL,
  cleanup,
  cloneDataset,
  contentSnapshot,
  diffSnapshots,
  expectSweepShape,
  failpointRun,
  figures,
  leftovers,
  loraHere,
  loraOk,
  mode,
  putImages,
  realImages,
  sweep,
  tempDir,
  violationsOf,
  type PointResult,
} from './reliability-helpers.js'
import {listFiles, sha256} from '../e2e/e2e-helpers.js'

const {usable} = realImages(mode(8, 50), 'failpoint sweeps of export --target')
const COUNT = usable.length
const TIMEOUT = mode(180_000, 3 * 3_600_000)

let template: string
afterAll(cleanup)

beforeAll(async () => {
  template = join(await tempDir('lora-rel-tpl-'), 'imgs')
  await putImages(template, usable)
  await loraOk(['init', '.'], {cwd: template})
  const lines = Array.from({length: COUNT}, (_, i) => `${i + 1}\t${['blue sky', 'cat', 'dog, tree'][i % 3]}`)
  await loraOk(['tag', '--stdin'], {cwd: template, input: lines.join('\n') + '\n'})
}, 60_000)

const CASES = [
  {
    name: 'export ../train --target kohya --class woman --max-side 512',
    args: ['export', '../train', '--target', 'kohya', '--class', 'woman', '--max-side', '512'],
    dest: '../train',
    zip: false,
    stride: 13,
  },
  {
    name: 'export ../up.zip --target civitai',
    args: ['export', '../up.zip', '--target', 'civitai'],
    dest: '../up.zip',
    zip: true,
    stride: 31,
  },
]

/** The export's files: text with the clone's folder replaced by `<root>`, binary as sha256. */
async function exportSnapshot(dest: string, zip: boolean, root: string): Promise<Record<string, string>> {
  const snap: Record<string, string> = {}
  const files: [string, Buffer][] = zip
    ? Object.entries(await readZip(dest))
    : await Promise.all(
        (await listFiles(dest)).map(async (f) => [f, await fsp.readFile(join(dest, f))] as [string, Buffer]),
      )
  for (const [name, bytes] of files) {
    snap[name] = /\.(txt|toml|json|yaml)$/u.test(name)
      ? bytes.toString('utf8').replaceAll(root, '<root>')
      : createHash('sha256').update(bytes).digest('hex')
  }
  return snap
}

/**
 * Files under their final names in a killed export's folder that are not complete. An image byte-identical to the
 * uninterrupted export's (`ref`, sha256 by name) is complete; any other image must decode whole.
 */
async function partialFiles(dest: string, ref: Record<string, string>): Promise<string[]> {
  const out: string[] = []
  for (const f of await listFiles(dest).catch(() => [] as string[])) {
    // Temp files and staging folders are not final names (their files appear when the folder is renamed).
    if (f.includes('.lora-tmp-') || f.includes('.lora-export-')) continue
    const path = join(dest, f)
    if (/\.(jpe?g|png|webp|gif)$/u.test(f)) {
      if (ref[f] !== undefined && ref[f] === (await sha256(path))) continue
      await sharp(path, {failOn: 'truncated'})
        .raw()
        .toBuffer()
        .catch(() => out.push(`image not complete: ${f}`))
    } else if (f.endsWith('.txt') && !(await fsp.readFile(path, 'utf8')).endsWith('\n'))
      out.push(`caption not complete: ${f}`)
    else if (f.endsWith('.json')) {
      try {
        JSON.parse(await fsp.readFile(path, 'utf8'))
      } catch {
        out.push(`JSON not complete: ${f}`)
      }
    }
  }
  return out
}

describe.each(CASES)('`lora $name` killed before its N-th file mutation, then rerun', (c) => {
  it(
    'leaves no partial file under a final name; the rerun (--force when refused) ends as an uninterrupted run',
    async () => {
      const refDir = await cloneDataset(template)
      await loraOk(c.args, {cwd: refDir})
      const ref = await exportSnapshot(join(refDir, c.dest), c.zip, dirname(refDir))
      const before = await contentSnapshot(template)
      let refused = 0
      const {results, completesAt} = await sweep(
        FULL ? EVERY_N : {head: 2, stride: c.stride, tail: 1},
        async (n): Promise<PointResult> => {
          const dir = await cloneDataset(template)
          const dest = join(dir, c.dest)
          const run = await failpointRun(c.args, dir, n)
          const violations = [...run.violations]
          if (run.killed) {
            if (!c.zip) violations.push(...(await partialFiles(dest, ref)))
            else if (await sha256(dest).catch(() => undefined))
              violations.push('a zip is under its final name after a kill')
            const rerun = await loraHere(c.args, {cwd: dir})
            if (rerun.code === 1 && /not empty/u.test(rerun.stderr) && /--force/u.test(rerun.stderr)) {
              refused++
              const forced = await loraHere([...c.args, '--force'], {cwd: dir})
              if (forced.code !== 0) violations.push(`--force rerun exited ${forced.code}: ${forced.stderr.trim()}`)
            } else if (rerun.code !== 0) violations.push(`rerun exited ${rerun.code}: ${rerun.stderr.trim()}`)
          }
          const got = await exportSnapshot(dest, c.zip, dirname(dir)).catch((e: Error) => ({error: e.message}))
          const differs = diffSnapshots(ref, got)
          if (differs.length)
            violations.push(`export differs from an uninterrupted one: ${differs.slice(0, 6).join(', ')}`)
          violations.push(...(await leftovers(c.zip ? dirname(dir) : dest)).map((l) => `export: ${l}`))
          const staging = (await fsp.readdir(dirname(dir))).filter((f) => f.startsWith('.lora-export-'))
          if (staging.length) violations.push(`staging folder left: ${staging.join(', ')}`)
          const changed = diffSnapshots(before, await contentSnapshot(dir))
          if (changed.length) violations.push(`the dataset changed: ${changed.slice(0, 6).join(', ')}`)
          await fsp.rm(join(dir, '..'), {recursive: true, force: true})
          return {n, killed: run.killed, violations}
        },
      )
      const found = violationsOf(results)
      figures(`failpoints ${c.name}`, {
        images: COUNT,
        mutations: completesAt - 1,
        'N run': results.length,
        'kills survived': results.filter((r) => r.killed && r.violations.length === 0).length,
        'plain reruns refused (not empty)': refused,
        violations: found.length,
      })
      expectSweepShape(results, completesAt, COUNT, FULL)
      expect(found).toEqual([])
    },
    TIMEOUT,
  )
})
