/**
 * Random external `kill -9` during `lora init --move` of many images (distinct crops of the real photos). Each
 * cycle starts from a fresh folder; `lora init --move` is started and SIGKILLed from outside after a random delay,
 * again and again (each start first finishes the interrupted change), KILLS_PER_CYCLE times, then run to the end.
 * After every kill no original may be missing (each one's bytes are at its original path or in output/); at the
 * end of each cycle: every image in output/ exactly once (sha256 multiset), no original left, contiguous ids,
 * state.json loads and agrees with every caption, no temp/lock/journal file, and a further rerun changes nothing.
 *
 * Fast mode: 80 images, 10 kills. Full mode (LORA_RELIABILITY_FULL=1): 1,000 images, 500 kills.
 * Then a failpoint sweep of `lora tag` taking over a stale lock (fast: the reclaim's every mutation; full: every N).
 * The delays are random from a printed seed (LORA_RELIABILITY_SEED replays a run).
 */
import * as fsp from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {
  EVERY_N,
  FULL,
  cleanup,
  expectSweepShape,
  failpointRun,
  figures,
  generateImages,
  imageShas,
  isRebuildRace,
  loraOk,
  mode,
  mustSucceed,
  noOpRerun,
  prng,
  readState,
  restingProblems,
  seed,
  spawnLora,
  sweep,
  tempDir,
  violationsOf,
  type PointResult,
  type SweepPlan,
} from './reliability-helpers.js'

const IMAGES = mode(80, 1000)
const KILLS = mode(10, 500)
const KILLS_PER_CYCLE = mode(5, 50)
const SEED = seed()

let template: string
let shas: string[]
/** How long an uninterrupted `lora init --move` of the template takes (ms). */
let fullRunMs: number

beforeAll(async () => {
  template = join(await tempDir('lora-rel-kill-tpl-'), 'imgs')
  shas = await generateImages(template, IMAGES)
  const dir = join(await tempDir('lora-rel-kill-cal-'), 'imgs')
  await fsp.cp(template, dir, {recursive: true})
  const start = Date.now()
  await loraOk(['init', '.', '--move'], {cwd: dir})
  fullRunMs = Date.now() - start
  expect(await restingProblems(dir)).toEqual([])
  await fsp.rm(join(dir, '..'), {recursive: true, force: true})
}, 300_000)
afterAll(cleanup)

it(
  `survives ${KILLS} random kill -9 during \`lora init --move\` of ${IMAGES} images without losing or duplicating one`,
  async () => {
    const random = prng(SEED)
    process.stderr.write(`kills.test: seed ${SEED}, an uninterrupted run takes ${fullRunMs} ms\n`)
    const violations: string[] = []
    let kills = 0
    let cycles = 0
    let finishedBeforeKill = 0
    let lostImages = 0
    // How long a run lasts: calibrated once, then the mean of it and each run that finished (the load changes).
    let estimate = fullRunMs
    while (kills < KILLS) {
      cycles++
      const dir = join(await tempDir('lora-rel-kill-'), 'imgs')
      await fsp.cp(template, dir, {recursive: true})
      let killsHere = 0
      for (;;) {
        const killing = killsHere < KILLS_PER_CYCLE && kills < KILLS
        const {child, done} = spawnLora(['init', '.', '--move'], dir)
        // Random instant over the run (node starts in ~0.3 s; later starts mostly replay the journal).
        const delay = Math.floor(random() * estimate * 1.1)
        const started = Date.now()
        const timer = killing ? setTimeout(() => child.kill('SIGKILL'), delay) : undefined
        const result = await done
        clearTimeout(timer)
        if (result.signal === 'SIGKILL') {
          kills++
          killsHere++
          // Nothing lost at any kill: every original's bytes are still at its path or already in output/.
          const present = new Set([...(await imageShas(dir)), ...(await imageShas(join(dir, 'output')))])
          const missing = shas.filter((s) => !present.has(s)).length
          if (missing > 0) {
            lostImages += missing
            violations.push(`cycle ${cycles}, kill ${killsHere} after ${delay} ms: ${missing} image(s) exist nowhere`)
          }
          continue
        }
        if (isRebuildRace(result)) {
          // dist/ was being rebuilt by someone else: nothing ran; start again.
          await new Promise((r) => setTimeout(r, 500))
          continue
        }
        if (result.code !== 0) {
          violations.push(
            `cycle ${cycles}: \`lora init --move\` exited ${result.code} (${result.signal ?? 'no signal'}): ${result.stderr.trim()}`,
          )
          break
        }
        if (killing) finishedBeforeKill++
        estimate = (estimate + (Date.now() - started)) / 2
        break
      }
      // The cycle's end state.
      const out = await imageShas(join(dir, 'output'))
      if (JSON.stringify(out) !== JSON.stringify(shas)) {
        const missing = shas.filter((s) => !out.includes(s)).length
        violations.push(
          `cycle ${cycles}: output/ holds ${out.length} images (${missing} missing), not the ${shas.length} originals exactly once`,
        )
      }
      const left = (await fsp.readdir(dir)).filter((f) => f !== 'output' && f !== '.lora-tagger')
      if (left.length > 0)
        violations.push(`cycle ${cycles}: originals left after the move: ${left.slice(0, 5).join(', ')}`)
      violations.push(...(await restingProblems(dir)).map((p) => `cycle ${cycles}: ${p}`))
      const state = await readState(dir).catch(() => undefined)
      if (state && state.images.length !== IMAGES)
        violations.push(`cycle ${cycles}: state.json has ${state.images.length} images`)
      violations.push(...(await noOpRerun(['init', '.', '--move'], dir, [dir])).map((p) => `cycle ${cycles}: ${p}`))
      await fsp.rm(join(dir, '..'), {recursive: true, force: true})
      if (violations.length > 20) break
    }
    figures('kill -9 during init --move', {
      images: IMAGES,
      seed: String(SEED),
      cycles,
      'kills survived': kills - violations.filter((v) => v.includes('exist nowhere')).length,
      kills,
      'runs finished before their kill': finishedBeforeKill,
      'images lost': lostImages,
      violations: violations.length,
    })
    expect(violations).toEqual([])
    expect(kills).toBeGreaterThanOrEqual(KILLS)
  },
  mode(120_000, 4 * 3_600_000),
)

/**
 * Fast mode: every N up to the journal's first write (the whole reclaim: 14 mutations today, so 16 leaves room),
 * then every 12th to the end. Full mode: every N.
 */
const STALE_PLAN: SweepPlan = mode({head: 16, stride: 12, tail: 0}, EVERY_N)

it(
  'a kill while a stale lock is being reclaimed leaves nothing behind once the command is rerun',
  async () => {
    // A lock left by a dead process, then `lora tag` killed before each of its mutations (taking over that lock
    // first). The derived caches are written beforehand (`lora status`), so the first mutations are the reclaim's.
    const template = join(await tempDir('lora-rel-stale-'), 'imgs')
    await generateImages(template, 3)
    await loraOk(['init', '.'], {cwd: template})
    await loraOk(['status'], {cwd: template})
    const dead = spawnLora(['--version'], template)
    const deadPid = dead.child.pid!
    await dead.done
    await fsp.writeFile(
      join(template, '.lora-tagger', 'lock'),
      JSON.stringify({pid: deadPid, host: hostname(), command: 'lora tag', since: new Date().toISOString()}) + '\n',
    )
    const {results, completesAt} = await sweep(STALE_PLAN, async (n): Promise<PointResult> => {
      const dir = join(await tempDir('lora-rel-stale-'), 'imgs')
      await fsp.cp(template, dir, {recursive: true})
      const run = await failpointRun(['tag', '1', '--add', 'x'], dir, n)
      const violations = [...run.violations]
      if (run.killed) violations.push(...(await mustSucceed(['tag', '1', '--add', 'x'], dir)))
      violations.push(...(await restingProblems(dir)))
      if ((await readState(dir)).images[0].tags.join() !== 'x')
        violations.push('img_0001 does not hold exactly the tag x')
      await fsp.rm(join(dir, '..'), {recursive: true, force: true})
      return {n, killed: run.killed, violations}
    })
    const violations = violationsOf(results)
    figures('kill while reclaiming a stale lock', {
      mutations: completesAt - 1,
      'N run': results.length,
      violations: violations.length,
    })
    // The reclaim alone is more than 8 mutations (take a temp lock, fail to link it, move the stale one aside, retry).
    expectSweepShape(results, completesAt, 8, FULL)
    expect(violations).toEqual([])
  },
  mode(120_000, 3_600_000),
)
