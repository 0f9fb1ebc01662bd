/**
 * Crash safety end to end: a read-only `lora status` after `lora init --move` was killed (SIGKILL, through the
 * failpoint seam `LORA_FAILPOINT=N` of src/adapters/fs.ts) in the middle of its plan finishes that plan by itself.
 *
 * The kill-at-every-step sweeps live in test/reliability: failpoints-init.test.ts (init --copy/--move/--link, each
 * kill followed by a rerun, every second one by `lora status` first) and failpoints-edit.test.ts (tag, tags rename,
 * export, with the same `lora status` follow-ups); `npm run test:reliability` runs every N.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {
  FIXTURES,
  FIXTURE_FACTS,
  GOOD_FIXTURES,
  IMAGE_RE,
  TRUNCATED,
  cleanupTemps,
  copyFixtures,
  listFiles,
  lora,
  readState,
  readText,
  sha256,
  shaMultiset,
  stateCaptionProblems,
  tempDir,
  type RunResult,
} from './e2e-helpers.js'

afterAll(cleanupTemps)

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
    expect(report.images).toEqual({total: 7, tagged: 0, skipped: 0, pending: 7, auto: 0})
    expect(report.problems).toEqual([{source: TRUNCATED, reason: expect.any(String)}])
    expect(await initProblems(dir, 'move')).toEqual([])
  })
})
