/**
 * Concurrent writers: 2, 4 and 8 `lora tag` processes started at the same instant, all on the same image or each
 * on its own image, round after round on one dataset. `lora tag` takes the dataset's writer lock and fails fast
 * with exit 5 when another process holds it; a refused writer applied nothing. So after every round: each
 * process exited 0 or 5 (nothing else); every exit 5 printed a clear message (the dataset is busy, who holds it,
 * a hint); every tag of a run that exited 0 is in the final caption, in state.json and in tags.txt (no tag lost);
 * no tag of a refused run was applied; state.json agrees with every caption; no lock, journal or temp file is left.
 *
 * Rounds alternate: odd rounds all on image 1, even rounds each process on its own image.
 * Fast mode: 2 rounds per process count (one on the same image, one on different images: each kind once, for 2, 4
 * and 8 writers). Full mode (LORA_RELIABILITY_FULL=1): 200 rounds per process count (100 on the same image, 100 on
 * different images).
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {
  cleanup,
  figures,
  generateImages,
  isRebuildRace,
  leftovers,
  loraOk,
  mode,
  readState,
  readText,
  spawnLora,
  stateCaptionProblems,
  tempDir,
  type RunResult,
} from './reliability-helpers.js'

const ROUNDS = mode(2, 200)

afterAll(cleanup)

/** A fresh dataset of 8 images. */
async function dataset(): Promise<string> {
  const dir = join(await tempDir('lora-rel-conc-'), 'imgs')
  await generateImages(dir, 8)
  await loraOk(['init', '.'], {cwd: dir})
  return dir
}

const BUSY =
  /^error: (The dataset is busy: lora[^(]* \(pid \d+ on .+\) has held it since .+\.|The dataset lock keeps changing hands\.)$/mu
const HINT = /^hint: \S.*$/mu

describe.each([2, 4, 8])('%i concurrent `lora tag` processes', (processes) => {
  it(
    `on the same and on different images, ${ROUNDS} rounds: no tag lost, every refused writer exits 5 with a clear message`,
    async () => {
      const dir = await dataset()
      const violations: string[] = []
      let applied = 0
      let refused = 0
      let lost = 0
      let notStarted = 0
      const counts = {same: {applied: 0, refused: 0}, different: {applied: 0, refused: 0}}
      for (let round = 1; round <= ROUNDS; round++) {
        const target = round % 2 === 1 ? 'the same image' : 'different images'
        const count = counts[round % 2 === 1 ? 'same' : 'different']
        const runs = Array.from({length: processes}, (_, p) => {
          const image = target === 'the same image' ? 1 : p + 1
          const tag = `r${round}p${p}`
          return {image, tag, ...spawnLora(['tag', String(image), '--add', tag], dir)}
        })
        const results: RunResult[] = await Promise.all(runs.map((r) => r.done))
        const state = await readState(dir)
        const vocabulary = (await readText(join(dir, 'output', 'tags.txt'))).split('\n')
        for (const [i, run] of runs.entries()) {
          const result = results[i]
          const record = state.images[run.image - 1]
          const caption = (await readText(join(dir, 'output', record.file.replace(/\.\w+$/u, '.txt'))))
            .trim()
            .split(', ')
          const where = `round ${round}, process ${i} (image ${run.image}, tag ${run.tag})`
          if (isRebuildRace(result)) {
            // dist/ was being rebuilt by someone else: this process never ran (its tag must not be there).
            notStarted++
            if (caption.includes(run.tag)) violations.push(`${where}: did not start, but its tag was applied`)
          } else if (result.code === 0) {
            applied++
            count.applied++
            if (!caption.includes(run.tag)) {
              lost++
              violations.push(`${where}: exited 0 but its tag is not in the caption`)
            }
            if (!record.tags.includes(run.tag)) violations.push(`${where}: exited 0 but its tag is not in state.json`)
            if (!vocabulary.includes(run.tag)) violations.push(`${where}: exited 0 but its tag is not in tags.txt`)
          } else if (result.code === 5) {
            refused++
            count.refused++
            if (!BUSY.test(result.stderr) || !HINT.test(result.stderr))
              violations.push(`${where}: exit 5 without a clear message: ${JSON.stringify(result.stderr)}`)
            if (caption.includes(run.tag)) violations.push(`${where}: refused (exit 5) but its tag was applied`)
          } else {
            violations.push(
              `${where}: exited ${result.code} (${result.signal ?? 'no signal'}), not 0 or 5: ${result.stderr.trim()}`,
            )
          }
        }
        violations.push(...(await stateCaptionProblems(dir)).map((p) => `round ${round}: ${p}`))
        violations.push(...(await leftovers(dir)).map((p) => `round ${round}: ${p}`))
        if (violations.length > 20) break
      }
      figures(`concurrency ${processes} × lora tag`, {
        rounds: ROUNDS,
        processes,
        runs: ROUNDS * processes,
        applied,
        'refused (exit 5)': refused,
        'same image applied/refused': `${counts.same.applied}/${counts.same.refused}`,
        'different images applied/refused': `${counts.different.applied}/${counts.different.refused}`,
        'tags lost': lost,
        ...(notStarted > 0 ? {'did not start (dist/ being rebuilt)': notStarted} : {}),
        violations: violations.length,
      })
      expect(violations).toEqual([])
      // Every round had a writer that got through.
      expect(applied).toBeGreaterThanOrEqual(ROUNDS)
      await fsp.rm(join(dir, '..'), {recursive: true, force: true})
    },
    mode(60_000, 3_600_000),
  )
})
