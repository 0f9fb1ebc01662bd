/**
 * Crash safety end to end. `LORA_FAILPOINT=N` makes the built CLI SIGKILL itself just before its N-th file
 * mutation (src/adapters/fs.ts). For N = 1, 2, 3, ... until a run finishes without being killed, a fresh copy of
 * the fixture images is hit by `lora init` (move, then copy mode) or a dataset by `lora tag --all --add x`, killed
 * at N, and then rerun without the failpoint (or, for some N, followed by a read-only `lora status`, which must
 * finish the interrupted change by itself). Afterwards nothing may be lost, duplicated or half-written.
 *
 * To keep the suite fast the sweep samples N by default: every N up to HEAD, then every STRIDE-th (13 is coprime
 * with the 5- and 6-mutation cycles of placing an image or writing a file, so the samples land on different kinds
 * of step), then every N of the last TAIL before the first run that completes (the final writes, the
 * journal's removal, the lock's release). `LORA_E2E_CRASH_FULL=1` runs every N.
 */
import * as fsp from 'node:fs/promises'
import {availableParallelism} from 'node:os'
import {join} from 'node:path'
import {
  FIXTURES,
  FIXTURE_FACTS,
  GOOD_FIXTURES,
  IMAGE_RE,
  TRUNCATED,
  cleanupTemps,
  cloneDataset,
  copyFixtures,
  initDataset,
  listFiles,
  lora,
  loraOk,
  pool,
  readState,
  readText,
  sha256,
  shaMultiset,
  snapshot,
  stateCaptionProblems,
  tempDir,
  type RunResult,
} from './e2e-helpers.js'

const FULL = process.env.LORA_E2E_CRASH_FULL === '1'
const HEAD = FULL ? Number.POSITIVE_INFINITY : 6
const STRIDE = FULL ? 1 : 13
const TAIL = FULL ? 0 : 5
const CONCURRENCY = availableParallelism() + 1
const SWEEP_TIMEOUT = FULL ? 3_600_000 : 300_000

afterAll(cleanupTemps)

/** What one failpoint run found. */
interface PointResult {
  n: number
  /** False when the run at N finished (exit 0) without reaching its N-th mutation. */
  killed: boolean
  violations: string[]
}

/** The N values of the sampled sweep, in order: every N up to HEAD, then every STRIDE-th. */
function* sampled(): Generator<number> {
  for (let n = 1; ; n += n < HEAD ? 1 : STRIDE) yield n
}

/**
 * Runs `point` for N = 1, 2, ... (sampled, see above) until a run completes unkilled, `CONCURRENCY` at a time, then
 * every N of the last TAIL before the first completing one. Returns all results sorted by N, and that N.
 */
async function sweep(
  point: (n: number) => Promise<PointResult>,
): Promise<{results: PointResult[]; completesAt: number}> {
  const results: PointResult[] = []
  let completesAt = Number.POSITIVE_INFINITY
  const gen = sampled()
  async function worker(): Promise<void> {
    for (;;) {
      const n = gen.next().value as number
      if (n > completesAt || n > 10_000) return
      const r = await point(n)
      results.push(r)
      if (!r.killed) completesAt = Math.min(completesAt, n)
    }
  }
  await Promise.all(Array.from({length: CONCURRENCY}, worker))
  const done = new Set(results.map((r) => r.n))
  const tail: number[] = []
  for (let n = Math.max(1, completesAt - TAIL); n < completesAt; n++) if (!done.has(n)) tail.push(n)
  results.push(...(await pool(tail, CONCURRENCY, point)))
  for (const r of results) if (!r.killed) completesAt = Math.min(completesAt, r.n)
  return {results: results.sort((a, b) => a.n - b.n), completesAt}
}

/** Checks the failpoint runs themselves: killed by SIGKILL below the completing N, exit 0 from it on. */
function expectSweepShape(results: PointResult[], completesAt: number, atLeast: number): void {
  expect(results[0]).toMatchObject({n: 1, killed: true})
  // The failpoint seam works (a run is only "complete" after many mutations) and the sweep reached the end.
  expect(completesAt).toBeGreaterThan(atLeast)
  expect(completesAt).toBeLessThan(Number.POSITIVE_INFINITY)
  for (const r of results) expect({n: r.n, killed: r.killed}).toEqual({n: r.n, killed: r.n < completesAt})
  // Every sampled N (and every N when FULL) below the end was exercised.
  if (FULL)
    expect(results.filter((r) => r.killed).map((r) => r.n)).toEqual(
      Array.from({length: completesAt - 1}, (_, i) => i + 1),
    )
}

/** One line per broken promise, naming the N (empty when every run was fine). */
function violationsOf(results: PointResult[]): string[] {
  return results.flatMap((r) => r.violations.map((v) => `N=${r.n}: ${v}`))
}

/** A run with the failpoint: returns whether it was killed, and a violation when it failed otherwise. */
async function killedRun(
  args: string[],
  cwd: string,
  n: number,
): Promise<{result: RunResult; killed: boolean; violations: string[]}> {
  const result = await lora(args, {cwd, env: {LORA_FAILPOINT: String(n)}})
  if (result.signal === 'SIGKILL') return {result, killed: true, violations: []}
  if (result.signal !== null || result.code !== 0) {
    return {
      result,
      killed: false,
      violations: [
        `lora ${args.join(' ')} with LORA_FAILPOINT=${n} ended with code ${result.code} signal ${result.signal}, not SIGKILL or 0: ${result.stderr.trim()}`,
      ],
    }
  }
  return {result, killed: false, violations: []}
}

/** A follow-up run that must succeed; a violation otherwise. */
async function mustSucceed(args: string[], cwd: string): Promise<string[]> {
  const r = await lora(args, {cwd})
  return r.code === 0
    ? []
    : [`rerun \`lora ${args.join(' ')}\` exited ${r.code} (${r.signal ?? 'no signal'}): ${r.stderr.trim()}`]
}

/**
 * Leftovers no finished command may leave: temp files, the journal, the lock. A read-only command (`staleLockOk`)
 * takes no lock when there is nothing to recover, so the killed run's lock may stay, but only as a stale one (its
 * pid gone), which the next writer reclaims.
 */
async function leftovers(dir: string, options: {staleLockOk?: boolean} = {}): Promise<string[]> {
  const files = await listFiles(dir)
  const out: string[] = []
  for (const f of files) if (f.includes('.lora-tmp-')) out.push(`temp file left: ${f}`)
  if (files.includes('.lora-tagger/journal.json')) out.push('journal.json left')
  if (files.includes('.lora-tagger/lock')) {
    const text = await readText(join(dir, '.lora-tagger', 'lock'))
    let pid = 0
    try {
      pid = Number(JSON.parse(text).pid)
    } catch {
      // a lock torn by the kill counts as stale
    }
    if (!options.staleLockOk) out.push(`lock left: ${text.trim()}`)
    else if (pid > 0 && isAlive(pid)) out.push(`lock held by live pid ${pid}`)
  }
  return out
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

let goodShas: string[]
let truncatedSha: string
const fixtureSha: Record<string, string> = {}
beforeAll(async () => {
  goodShas = await shaMultiset(FIXTURES, (name) => GOOD_FIXTURES.includes(name))
  for (const name of [...GOOD_FIXTURES, TRUNCATED]) fixtureSha[name] = await sha256(join(FIXTURES, name))
  truncatedSha = fixtureSha[TRUNCATED]
})

/** The files a finished `lora init` of all fixtures leaves in output/. */
const EXPECTED_OUTPUT = [
  ...FIXTURE_FACTS.flatMap((f) => [f.file, f.file.replace(/\.\w+$/u, '.txt')]),
  'tags.txt',
].sort()

/** Everything a finished init of the fixture images must satisfy, as violations (empty when all hold). */
async function initProblems(dir: string, mode: 'move' | 'copy'): Promise<string[]> {
  const problems: string[] = []
  const out = join(dir, 'output')
  const outShas = await shaMultiset(out, (name) => IMAGE_RE.test(name)).catch(() => [])
  if (JSON.stringify(outShas) !== JSON.stringify(goodShas))
    problems.push(`output/ images ${outShas.length}, not the ${goodShas.length} originals' bytes exactly once each`)
  const outFiles = await fsp.readdir(out).catch(() => [] as string[])
  const unexpected = outFiles.filter((f) => !EXPECTED_OUTPUT.includes(f) && !f.includes('.lora-tmp-'))
  const missing = EXPECTED_OUTPUT.filter((f) => !outFiles.includes(f))
  if (unexpected.length || missing.length)
    problems.push(`output/ missing ${JSON.stringify(missing)}, unexpected ${JSON.stringify(unexpected)}`)

  const top = (await fsp.readdir(dir)).filter((f) => f !== 'output' && f !== '.lora-tagger').sort()
  const originals = mode === 'move' ? [TRUNCATED] : [...GOOD_FIXTURES, TRUNCATED].sort()
  if (JSON.stringify(top) !== JSON.stringify(originals))
    problems.push(`originals left ${JSON.stringify(top)}, expected ${JSON.stringify(originals)}`)
  for (const name of top)
    if (fixtureSha[name] && (await sha256(join(dir, name))) !== fixtureSha[name])
      problems.push(`original ${name} changed`)
  if (top.includes(TRUNCATED) && (await sha256(join(dir, TRUNCATED))) !== truncatedSha)
    problems.push('the truncated JPEG changed')

  try {
    const state = await readState(dir)
    const ids = state.images.map((i) => i.id)
    const expected = FIXTURE_FACTS.map((f) => f.id)
    if (JSON.stringify(ids) !== JSON.stringify(expected))
      problems.push(`state ids ${JSON.stringify(ids)}, expected ${JSON.stringify(expected)}`)
    for (const image of state.images) {
      const sha = await sha256(join(out, image.file)).catch(() => 'missing')
      if (sha !== image.sha256)
        problems.push(`${image.file}: ${sha === 'missing' ? 'missing' : 'bytes differ from state.json'}`)
    }
    if (state.problems.map((p) => p.source).join() !== TRUNCATED)
      problems.push(`state problems ${JSON.stringify(state.problems)}`)
    problems.push(...(await stateCaptionProblems(dir)))
  } catch (error) {
    problems.push(`state.json unreadable: ${(error as Error).message}`)
  }
  problems.push(...(await leftovers(dir)))
  return problems
}

/** A fresh folder with copies of all fixture images (the truncated one included). */
async function freshImages(): Promise<string> {
  const dir = join(await tempDir('lora-crash-'), 'imgs')
  await copyFixtures(dir)
  return dir
}

describe.each(['move', 'copy'] as const)('`lora init --%s` killed at every step, then rerun', (mode) => {
  it(
    'ends with every image in output/ exactly once, contiguous ids, nothing half-done',
    async () => {
      const {results, completesAt} = await sweep(async (n) => {
        const dir = await freshImages()
        const run = await killedRun(['init', '.', `--${mode}`], dir, n)
        const violations = [...run.violations]
        if (run.killed) violations.push(...(await mustSucceed(['init', '.', `--${mode}`], dir)))
        violations.push(...(await initProblems(dir, mode)))
        await fsp.rm(join(dir, '..'), {recursive: true, force: true})
        return {n, killed: run.killed, violations}
      })
      expectSweepShape(results, completesAt, 40)
      expect(violationsOf(results)).toEqual([])
    },
    SWEEP_TIMEOUT,
  )
})

describe('`lora status` after a killed `lora init --move`', () => {
  it.concurrent.each([
    ['while placing images', 30],
    ['while writing captions', 48],
  ])('finishes the interrupted plan (killed %s)', async (_what, from) => {
    // The first N from `from` at which the killed run leaves a journal (an interrupted plan) behind.
    let dir = ''
    for (let n = from; ; n++) {
      expect(n).toBeLessThan(from + 20)
      dir = await freshImages()
      const run = await killedRun(['init', '.', '--move'], dir, n)
      expect(run.killed).toBe(true)
      if (
        await fsp.stat(join(dir, '.lora-tagger', 'journal.json')).then(
          () => true,
          () => false,
        )
      )
        break
    }
    const status = await lora(['status', '--json'], {cwd: dir})
    expect(status.code).toBe(0)
    const report = JSON.parse(status.stdout)
    expect(report.images).toEqual({total: 7, tagged: 0, skipped: 0, pending: 7})
    expect(report.problems).toEqual([{source: TRUNCATED, reason: expect.any(String)}])
    expect(await initProblems(dir, 'move')).toEqual([])
  })
})

describe('`lora tag --all --add x` killed at every step', () => {
  let template: string
  const before = {captions: ['a\n', 'b, c\n', '', '', '', '', ''], vocabulary: 'a\nb\nc\n'}
  const after = {captions: ['a, x\n', 'b, c, x\n', 'x\n', 'x\n', 'x\n', 'x\n', 'x\n'], vocabulary: 'a\nb\nc\nx\n'}

  beforeAll(async () => {
    template = await initDataset()
    await loraOk(['tag', '--stdin'], {cwd: template, input: '1\ta\n2\tb, c\n'})
  })

  const captions = (dir: string) =>
    Promise.all(
      FIXTURE_FACTS.map((f) =>
        readText(join(dir, 'output', f.file.replace(/\.\w+$/u, '.txt'))).catch(() => '<missing>'),
      ),
    )
  const vocabulary = (dir: string) => readText(join(dir, 'output', 'tags.txt')).catch(() => '<missing>')
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

  it(
    'a rerun gives every caption x; a read-only `lora status` instead finds all or nothing; state.json always agrees with the captions',
    async () => {
      const images = Object.fromEntries(Object.entries(await snapshot(template)).filter(([f]) => IMAGE_RE.test(f)))
      const {results, completesAt} = await sweep(async (n) => {
        const dir = await cloneDataset(template)
        const run = await killedRun(['tag', '--all', '--add', 'x'], dir, n)
        const violations = [...run.violations]
        // Sampled sweeps alternate the follow-up (status on even N, the rerun on odd N); FULL does both.
        const viaStatus = run.killed && (FULL || n % 2 === 0)
        const viaRerun = run.killed && (FULL || n % 2 === 1)
        if (viaStatus) {
          // A read-only command must finish the interrupted change (or find none): all captions have x, or none.
          violations.push(...(await mustSucceed(['status'], dir)))
          const now = {captions: await captions(dir), vocabulary: await vocabulary(dir)}
          if (!same(now, before) && !same(now, after))
            violations.push(`after \`lora status\`: neither before nor after: ${JSON.stringify(now)}`)
          violations.push(...(await stateCaptionProblems(dir)).map((p) => `after \`lora status\`: ${p}`))
        }
        if (viaRerun) violations.push(...(await mustSucceed(['tag', '--all', '--add', 'x'], dir)))
        if (viaRerun || !run.killed) {
          const now = {captions: await captions(dir), vocabulary: await vocabulary(dir)}
          if (!same(now, after)) violations.push(`after the rerun: ${JSON.stringify(now)}`)
          const state = await readState(dir).catch(() => undefined)
          if (!state || state.images.some((i) => i.status !== 'tagged'))
            violations.push('not every image is tagged in state.json')
          violations.push(...(await stateCaptionProblems(dir)))
        }
        const nowImages = Object.fromEntries(Object.entries(await snapshot(dir)).filter(([f]) => IMAGE_RE.test(f)))
        if (!same(nowImages, images)) violations.push('image files changed')
        violations.push(...(await leftovers(dir, {staleLockOk: viaStatus && !viaRerun})))
        await fsp.rm(join(dir, '..'), {recursive: true, force: true})
        return {n, killed: run.killed, violations}
      })
      expectSweepShape(results, completesAt, 20)
      expect(violationsOf(results)).toEqual([])
    },
    SWEEP_TIMEOUT,
  )
})
