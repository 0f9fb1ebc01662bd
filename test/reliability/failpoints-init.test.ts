/**
 * Failpoint sweep of `lora init` over real photos in copy, move and link mode. `LORA_FAILPOINT=N` makes the
 * built CLI SIGKILL itself just before its N-th file mutation (src/adapters/fs.ts). For N = 1, 2, ... until a run
 * completes, a fresh folder of the originals is hit by `lora init --MODE`, killed at N, rerun, and then checked:
 * the images in output/ are the usable originals' bytes exactly once each (sha256 multiset), the originals are
 * where the mode leaves them and unchanged, ids are contiguous, state.json equals an uninterrupted run's and
 * agrees with every caption, no temp/lock/journal file is left, and a further rerun changes nothing.
 *
 * Every second kill that leaves an interrupted plan (its journal) behind (every such kill in full mode) is first
 * followed by a read-only `lora status`, which must finish the plan by itself (exit 0, no journal left). The
 * follow-ups run in-process (`loraHere`); only the killed run is a process of its own.
 *
 * Fast mode: 8 images, N sampled (N=1, every STRIDE-th, and the last before the end).
 * Full mode (LORA_RELIABILITY_FULL=1): 50 images, every N.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {
  EVERY_N,
  FULL,
  cleanup,
  expectSweepShape,
  failpointRun,
  figures,
  imageShas,
  listFiles,
  loraHere,
  loraOk,
  mode,
  mustSucceed,
  noOpRerun,
  putImages,
  realImages,
  restingProblems,
  sha256,
  shaByName,
  stableState,
  stateDiff,
  sweep,
  tempDir,
  violationsOf,
  type PointResult,
} from './reliability-helpers.js'

// 8 real photos (50 in full mode); on a bare clone, the 7 usable fixture images: every count below follows `usable`.
const {usable, problems} = realImages(mode(8, 50), 'failpoint sweep of lora init')
const COUNT = usable.length
const ALL = [...usable, ...problems]
const TIMEOUT = mode(120_000, 4 * 3_600_000)

let usableShas: string[]
let originalSha: Map<string, string>
let reference: {state: unknown; outputFiles: string[]}

beforeAll(async () => {
  originalSha = await shaByName(ALL)
  usableShas = usable.map((i) => originalSha.get(i.name)!).sort()
  const dir = join(await tempDir('lora-rel-ref-'), 'imgs')
  await putImages(dir, ALL)
  await loraOk(['init', '.'], {cwd: dir})
  reference = {state: await stableState(dir), outputFiles: await fsp.readdir(join(dir, 'output')).then((f) => f.sort())}
}, 60_000)
afterAll(cleanup)

/** Everything a finished init (after kills and a rerun) must satisfy. */
async function initProblems(dir: string, how: 'copy' | 'move' | 'link'): Promise<string[]> {
  const out: string[] = []
  const output = join(dir, 'output')
  const shas = await imageShas(output)
  if (JSON.stringify(shas) !== JSON.stringify(usableShas))
    out.push(
      `output/ holds ${shas.length} images, not the ${usableShas.length} usable originals' bytes exactly once each`,
    )
  const files = (await fsp.readdir(output).catch(() => [] as string[])).filter((f) => !f.includes('.lora-tmp-')).sort()
  if (JSON.stringify(files) !== JSON.stringify(reference.outputFiles)) {
    out.push(
      `output/ files differ from an uninterrupted run: missing ${JSON.stringify(reference.outputFiles.filter((f) => !files.includes(f)))}, extra ${JSON.stringify(files.filter((f) => !reference.outputFiles.includes(f)))}`,
    )
  }
  // Originals: move leaves only the problem files; copy and link leave all; none changed.
  const left = (await fsp.readdir(dir)).filter((f) => f !== 'output' && f !== '.lora-tagger').sort()
  const expected = (how === 'move' ? problems : ALL).map((i) => i.name).sort()
  if (JSON.stringify(left) !== JSON.stringify(expected))
    out.push(`originals left ${JSON.stringify(left)}, expected ${JSON.stringify(expected)}`)
  for (const name of left)
    if (originalSha.has(name) && (await sha256(join(dir, name))) !== originalSha.get(name))
      out.push(`original ${name} changed`)
  try {
    const state = (await stableState(dir)) as {images: {file: string; source: string}[]}
    const differs = stateDiff(reference.state, state)
    if (differs) out.push(differs)
    if (how === 'link') {
      for (const image of state.images) {
        const a = fs.statSync(join(output, image.file), {throwIfNoEntry: false})
        const b = fs.statSync(join(dir, image.source), {throwIfNoEntry: false})
        if (!a || !b || a.ino !== b.ino) out.push(`${image.file} is not a hard link of ${image.source}`)
      }
    }
  } catch (error) {
    out.push(`state.json does not load: ${(error as Error).message}`)
  }
  out.push(...(await restingProblems(dir)))
  return out
}

// Strides coprime with the 4- and 5-mutation cycles of placing an image or writing a file, different per mode, so
// the samples land on different kinds of step.
const PLANS = {
  copy: {head: 1, stride: 33, tail: 1},
  move: {head: 2, stride: 41, tail: 1},
  link: {head: 1, stride: 37, tail: 1},
}

describe.each(['copy', 'move', 'link'] as const)(
  '`lora init --%s` killed before its N-th file mutation, then rerun',
  (how) => {
    it(
      'keeps every original, places each usable one exactly once, contiguous ids, no leftovers; a further rerun changes nothing',
      async () => {
        const args = ['init', '.', `--${how}`]
        let reruns = 0
        let statusFollowUps = 0
        let lostImages = 0
        const {results, completesAt} = await sweep(FULL ? EVERY_N : PLANS[how], async (n): Promise<PointResult> => {
          const root = await tempDir('lora-rel-fp-')
          const dir = join(root, 'imgs')
          await putImages(dir, ALL)
          const run = await failpointRun(args, dir, n)
          const violations = [...run.violations]
          if (run.killed) {
            // Between the kill and the rerun: no original may be lost (each is at its place or in output/).
            const present = new Set([...(await imageShas(dir)), ...(await imageShas(join(dir, 'output')))])
            for (const image of ALL)
              if (!present.has(originalSha.get(image.name)!))
                violations.push(`after the kill, ${image.name} exists nowhere`)
            if ((FULL || n % 2 === 0) && fs.existsSync(join(dir, '.lora-tagger', 'journal.json'))) {
              statusFollowUps++
              const status = await loraHere(['status'], {cwd: dir})
              if (status.code !== 0)
                violations.push(`\`lora status\` after the kill exited ${status.code}: ${status.stderr.trim()}`)
              if (fs.existsSync(join(dir, '.lora-tagger', 'journal.json')))
                violations.push('`lora status` after the kill left the journal (the plan unfinished)')
            }
            violations.push(...(await mustSucceed(args, dir)))
            reruns++
          }
          violations.push(...(await initProblems(dir, how)))
          const present = new Set([...(await imageShas(dir)), ...(await imageShas(join(dir, 'output')))])
          lostImages += ALL.filter((image) => !present.has(originalSha.get(image.name)!)).length
          violations.push(...(await noOpRerun(args, dir, [dir])))
          await fsp.rm(root, {recursive: true, force: true})
          return {n, killed: run.killed, violations}
        })
        const lost = violationsOf(results)
        figures(`failpoints init --${how}`, {
          images: COUNT,
          mutations: completesAt - 1,
          'N run': results.length,
          'kills survived': results.filter((r) => r.killed && r.violations.length === 0).length,
          reruns,
          'read-only status follow-ups': statusFollowUps,
          violations: lost.length,
          'images lost': lostImages,
        })
        // At least two mutations per image (placing it, creating its caption): the sweep really went through them.
        expectSweepShape(results, completesAt, COUNT * 2, FULL)
        expect(lost).toEqual([])
      },
      TIMEOUT,
    )
  },
)

it('the sweep can fail: a dataset missing one image, or with a temp file left, is reported', async () => {
  const dir = join(await tempDir('lora-rel-neg-'), 'imgs')
  await putImages(dir, ALL)
  await loraOk(['init', '.'], {cwd: dir})
  expect(await initProblems(dir, 'copy')).toEqual([])
  const files = await listFiles(join(dir, 'output'))
  const image = files.find((f) => /\.jpg$/u.test(f))!
  await fsp.rename(join(dir, 'output', image), join(dir, 'output', `.lora-tmp-1-x-${image}`))
  const found = await initProblems(dir, 'copy')
  expect(found.some((p) => p.includes('temp file left'))).toBe(true)
  expect(found.some((p) => p.includes('usable originals'))).toBe(true)
})
