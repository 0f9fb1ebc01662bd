/**
 * Failpoint sweeps of the commands that change an existing dataset of real photos: `lora tag` (a bulk add and
 * remove), a bulk `lora tags rename` that merges into an existing tag, and `lora export` (a kohya folder). For
 * N = 1, 2, ... until a run completes, a fresh copy of the dataset is hit by the command, killed before its N-th
 * file mutation (LORA_FAILPOINT=N), the command is rerun, and then: the images are byte-identical (sha256
 * multiset), ids contiguous, captions, tags.txt and state.json equal those of an uninterrupted run, no temp, lock
 * or journal file is left (in the dataset or the export folder), and a further rerun changes nothing.
 *
 * A killed export leaves a non-empty destination, which a plain rerun refuses (exit 1, "not empty", documented);
 * the rerun is then `--force`, which the README names for that case.
 *
 * For the commands that edit the dataset (tag, tags rename), every second kill (every kill in full mode) is first
 * followed by a read-only `lora status`, which must finish the interrupted change by itself: the captions and
 * tags.txt are then all as before or all as after, and state.json agrees with every caption. The follow-ups (status,
 * rerun, further rerun) run in-process (`loraHere`); only the killed run is a process of its own.
 *
 * Fast mode: 8 images (7 fixture images without ../shared), N sampled. Full mode (LORA_RELIABILITY_FULL=1): 50
 * images, every N.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
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
  imageShas,
  leftovers,
  loraHere,
  loraOk,
  mode,
  noOpRerun,
  putImages,
  readState,
  realImages,
  restingProblems,
  snapshot,
  stableState,
  stateCaptionProblems,
  stateDiff,
  sweep,
  tempDir,
  violationsOf,
  type PointResult,
  type SweepPlan,
} from './reliability-helpers.js'

// 8 real photos (50 in full mode); on a bare clone, the 7 usable fixture images: every count below follows `usable`.
const {usable} = realImages(mode(8, 50), 'failpoint sweeps of tag, tags rename and export')
const COUNT = usable.length
const TIMEOUT = mode(120_000, 3 * 3_600_000)

let template: string
afterAll(cleanup)

beforeAll(async () => {
  template = join(await tempDir('lora-rel-tpl-'), 'imgs')
  await putImages(template, usable)
  await loraOk(['init', '.'], {cwd: template})
  // Image i: "old, blue sky" / "old, new tag, cat" / "dog, new tag"; every fifth stays pending.
  const lines: string[] = []
  for (let i = 1; i <= COUNT; i++) {
    if (i % 5 === 0) continue
    lines.push(`${i}\t${['old, blue sky', 'old, new tag, cat', 'dog, new tag'][i % 3]}`)
  }
  await loraOk(['tag', '--stdin'], {cwd: template, input: lines.join('\n') + '\n'})
}, 60_000)

interface EditCase {
  name: string
  args: string[]
  /** The export destination (relative to the dataset folder), when the command writes one. */
  dest?: string
  plan: SweepPlan
  /** Fewest mutations an uninterrupted run makes (proves the seam is reached). */
  atLeast: number
}

const CASES: EditCase[] = [
  {
    name: 'tag --all --add "red hair, smile" --remove dog',
    args: ['tag', '--all', '--add', 'red hair, smile', '--remove', 'dog'],
    plan: {head: 2, stride: 19, tail: 1},
    atLeast: COUNT,
  },
  {
    name: 'tags rename old "new tag"',
    args: ['tags', 'rename', 'old', 'new tag'],
    plan: {head: 1, stride: 17, tail: 1},
    atLeast: COUNT / 2,
  },
  {
    name: 'export ../train --repeats 10 --class woman',
    args: ['export', '../train', '--repeats', '10', '--class', 'woman'],
    dest: '../train',
    plan: {head: 1, stride: 23, tail: 1},
    atLeast: COUNT * 5,
  },
]

describe.each(CASES)('`lora $name` killed before its N-th file mutation, then rerun', (c) => {
  it(
    'ends exactly as an uninterrupted run: images untouched, captions/tags.txt/state all new, no leftovers; a further rerun changes nothing',
    async () => {
      // The uninterrupted run.
      const refDir = await cloneDataset(template)
      const imagesBefore = await imageShas(join(refDir, 'output'))
      await loraOk(c.args, {cwd: refDir})
      const ref = {
        content: await contentSnapshot(refDir),
        state: await stableState(refDir),
        dest: c.dest ? await snapshot(join(refDir, c.dest)) : undefined,
      }
      expect(diffSnapshots(await contentSnapshot(template), ref.content).length > 0 || c.dest !== undefined).toBe(true)
      const forceArgs = c.dest ? [...c.args, '--force'] : c.args
      const before = await contentSnapshot(template)
      /** What differs from `snap` in the captions and tags.txt (the lock or journal of a killed run left aside). */
      const captionDiff = (snap: Record<string, string>, now: Record<string, string>) =>
        diffSnapshots(snap, now).filter((f) => f.startsWith('output/') && !f.includes('.lora-tmp-'))
      let statusFollowUps = 0

      let refusedReruns = 0
      const {results, completesAt} = await sweep(FULL ? EVERY_N : c.plan, async (n): Promise<PointResult> => {
        const dir = await cloneDataset(template)
        const run = await failpointRun(c.args, dir, n)
        const violations = [...run.violations]
        if (run.killed && !c.dest && (FULL || n % 2 === 0)) {
          statusFollowUps++
          const status = await loraHere(['status'], {cwd: dir})
          if (status.code !== 0)
            violations.push(`\`lora status\` after the kill exited ${status.code}: ${status.stderr.trim()}`)
          const now = await contentSnapshot(dir)
          if (captionDiff(before, now).length > 0 && captionDiff(ref.content, now).length > 0)
            violations.push(`after \`lora status\`: neither before nor after: ${captionDiff(before, now).join(', ')}`)
          violations.push(...(await stateCaptionProblems(dir)).map((p) => `after \`lora status\`: ${p}`))
        }
        if (run.killed) {
          const rerun = await loraHere(c.args, {cwd: dir})
          if (
            rerun.code !== 0 &&
            c.dest &&
            rerun.code === 1 &&
            /not empty/u.test(rerun.stderr) &&
            /hint:.*--force/u.test(rerun.stderr)
          ) {
            refusedReruns++
            const forced = await loraHere(forceArgs, {cwd: dir})
            if (forced.code !== 0) violations.push(`rerun with --force exited ${forced.code}: ${forced.stderr.trim()}`)
          } else if (rerun.code !== 0) {
            violations.push(
              `rerun \`lora ${c.args.join(' ')}\` exited ${rerun.code} (${rerun.signal ?? 'no signal'}): ${rerun.stderr.trim()}`,
            )
          }
        }
        const images = await imageShas(join(dir, 'output'))
        if (JSON.stringify(images) !== JSON.stringify(imagesBefore))
          violations.push(`output/ images changed: ${images.length} now, ${imagesBefore.length} before`)
        const changed = diffSnapshots(ref.content, await contentSnapshot(dir))
        if (changed.length > 0) violations.push(`differs from an uninterrupted run: ${changed.join(', ')}`)
        try {
          const differs = stateDiff(ref.state, await stableState(dir))
          if (differs) violations.push(differs)
        } catch (error) {
          violations.push(`state.json does not load: ${(error as Error).message}`)
        }
        violations.push(...(await restingProblems(dir)))
        const dirs = [dir]
        if (c.dest) {
          const dest = join(dir, c.dest)
          dirs.push(dest)
          const got = await snapshot(dest).catch(() => ({}))
          const differs = diffSnapshots(ref.dest!, got)
          if (differs.length > 0)
            violations.push(`export differs from an uninterrupted one: ${differs.slice(0, 6).join(', ')}`)
          violations.push(...(await leftovers(dest)).map((l) => `export folder: ${l}`))
          const tagged = (await readState(dir)).images
            .filter((i) => i.status === 'tagged')
            .map((i) => i.sha256)
            .sort()
          const exported = await imageShas(join(dest, '10_woman'))
          if (JSON.stringify(exported) !== JSON.stringify(tagged))
            violations.push(
              `export holds ${exported.length} images, not the ${tagged.length} tagged images exactly once`,
            )
        }
        violations.push(...(await noOpRerun(forceArgs, dir, dirs)))
        await fsp.rm(join(dir, '..'), {recursive: true, force: true})
        return {n, killed: run.killed, violations}
      })
      const found = violationsOf(results)
      figures(`failpoints ${c.args.slice(0, c.args[0] === 'tags' ? 2 : 1).join(' ')}`, {
        images: COUNT,
        mutations: completesAt - 1,
        'N run': results.length,
        'kills survived': results.filter((r) => r.killed && r.violations.length === 0).length,
        ...(c.dest
          ? {'plain reruns refused (not empty)': refusedReruns}
          : {'read-only status follow-ups': statusFollowUps}),
        violations: found.length,
      })
      expectSweepShape(results, completesAt, c.atLeast, FULL)
      if (!c.dest) expect(statusFollowUps).toBeGreaterThan(0)
      expect(found).toEqual([])
    },
    TIMEOUT,
  )
})
