/**
 * `lora tags` through the built binary (`bin/run.js`, build first): what needs a process of its own. The kill
 * sweep of a dataset-wide rename (LORA_FAILPOINT is read once per process, so every attempt is a new process
 * killed with SIGKILL), and a smoke run of the command group end to end. The command behaviour (listing, rename,
 * rm, add, normalize, import) is tested in-process in test/commands/tags.test.ts. Real files in temp folders, no
 * mocks.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {FIXTURES, GOOD_FIXTURES, copyFixtures, readState, runCli, type RunResult} from '../helpers.js'
import {
  CAPTIONS,
  TEMPLATE_IMAGES,
  caption,
  listFiles,
  read,
  stateProblems,
  stderrLines,
  vocabulary,
} from '../tags-helpers.js'
import {cleanupTemps, retryRebuildRace, tempDir as makeTempDir} from './e2e-helpers.js'

// ---------------------------------------------------------------------------------------------------------------
// Helpers

afterAll(cleanupTemps)

/** A fresh temp folder (real path), removed after the file's tests. */
const tempDir = () => makeTempDir('lora-tags-e2e-')

/** Runs the built CLI in `cwd` (retrying a run that could not load because dist/ was being rebuilt). */
function lora(
  args: string[],
  cwd: string,
  options: {env?: NodeJS.ProcessEnv; input?: string} = {},
): Promise<RunResult> {
  return retryRebuildRace(() => runCli(args, {cwd, env: options.env, input: options.input}))
}

/** Runs the CLI and fails, showing its output, unless it exits 0. */
async function ok(
  args: string[],
  cwd: string,
  options: {env?: NodeJS.ProcessEnv; input?: string} = {},
): Promise<RunResult> {
  const r = await lora(args, cwd, options)
  if (r.code !== 0)
    throw new Error(
      `lora ${args.join(' ')} exited ${r.code} (${r.signal ?? 'no signal'})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
    )
  return r
}

// ---------------------------------------------------------------------------------------------------------------

describe('lora tags through bin/run.js (smoke)', () => {
  it('init, tag --stdin, tags rename and tags --json: exit 0, captions rewritten, one summary line on stderr', async () => {
    const dir = join(await tempDir(), 'imgs')
    await copyFixtures(dir, TEMPLATE_IMAGES)
    await ok(['init', '.'], dir)
    await ok(['tag', '--stdin'], dir, {input: CAPTIONS.map((c, i) => `img_000${i + 1}\t${c}\n`).join('')})
    const r = await ok(['tags', 'rename', 'longhair', 'long hair'], dir)
    expect(r).toMatchObject({code: 0, signal: null, stdout: ''})
    expect(stderrLines(r)).toHaveLength(1)
    expect(r.stderr).toMatch(/3 caption/u)
    expect(await caption(dir, 1)).toBe('a, long hair, b\n')
    expect(await caption(dir, 2)).toBe('long hair, smile\n')
    expect(await vocabulary(dir)).toBe('a\nb\nlong hair\nsmile\n')
    expect(await stateProblems(dir)).toEqual([])
    const list = await ok(['tags', '--json'], dir)
    expect(JSON.parse(list.stdout)).toEqual({
      tags: [
        {tag: 'long hair', count: 3},
        {tag: 'smile', count: 3},
        {tag: 'a', count: 1},
        {tag: 'b', count: 1},
      ],
    })
    const usage = await lora(['tags', 'rename', 'smile', 'smile'], dir)
    expect(usage.code).toBe(2)
    expect(usage.stderr).toMatch(/^error: /u)
  })
})

// ---------------------------------------------------------------------------------------------------------------

describe('kill safety of a dataset-wide rename', () => {
  /** Eight images (the seven good fixtures and a byte-different copy of one), every caption with `longhair`. */
  const OLD = [
    'a, longhair, b',
    'longhair',
    'longhair, long hair, c',
    'x, longhair',
    'a, longhair, b',
    'longhair, smile',
    'c, long hair, longhair',
    'a, longhair, b',
  ]
  const NEW = [
    'a, long hair, b',
    'long hair',
    'long hair, c',
    'x, long hair',
    'a, long hair, b',
    'long hair, smile',
    'c, long hair',
    'a, long hair, b',
  ]
  const OLD_VOCAB = 'a\nb\nc\nlong hair\nlonghair\nsmile\nx\n'
  const NEW_VOCAB = 'a\nb\nc\nlong hair\nsmile\nx\n'
  const RENAME = ['tags', 'rename', 'longhair', 'long hair']

  interface Outcome {
    n: number
    run: RunResult
    side: 'old' | 'new' | 'mixed'
    violations: string[]
    leftovers: string[]
  }
  const outcomes: Outcome[] = []

  async function captionsOf(dir: string): Promise<string[]> {
    return Promise.all(OLD.map((_, i) => caption(dir, i + 1).catch(() => '<missing>')))
  }

  function isAlive(pid: number): boolean {
    try {
      process.kill(pid, 0)
      return true
    } catch (error) {
      return (error as NodeJS.ErrnoException).code !== 'ESRCH'
    }
  }

  async function attempt(prepared: string, n: number): Promise<Outcome> {
    const dir = join(await tempDir(), 'imgs')
    await fsp.cp(prepared, dir, {recursive: true})
    const run = await lora(RENAME, dir, {env: {LORA_FAILPOINT: String(n)}})
    const violations: string[] = []
    const leftovers: string[] = []
    if (run.signal !== 'SIGKILL' && run.code !== 0)
      violations.push(`rename ended with code ${run.code}, signal ${run.signal}: ${run.stderr.trim()}`)
    const status = await lora(['status'], dir)
    if (status.code !== 0) violations.push(`lora status after the kill exited ${status.code}: ${status.stderr.trim()}`)
    const texts = await captionsOf(dir)
    const side =
      JSON.stringify(texts) === JSON.stringify(OLD.map((c) => c + '\n'))
        ? 'old'
        : JSON.stringify(texts) === JSON.stringify(NEW.map((c) => c + '\n'))
          ? 'new'
          : 'mixed'
    if (side === 'mixed') violations.push(`captions are a mix: ${JSON.stringify(texts)}`)
    if (run.code === 0 && side !== 'new') violations.push('the completed run did not leave the new tags')
    violations.push(...(await stateProblems(dir)))
    const vocab = await vocabulary(dir).catch(() => '<missing>')
    const expectedVocab = side === 'new' ? NEW_VOCAB : OLD_VOCAB
    if (side !== 'mixed' && vocab !== expectedVocab)
      violations.push(`tags.txt ${JSON.stringify(vocab)} with the ${side} captions`)
    const files = await listFiles(dir)
    if (files.includes('.lora-tagger/journal.json')) violations.push('journal.json left after recovery')
    if (files.includes('.lora-tagger/lock')) {
      let pid = 0
      try {
        pid = Number(JSON.parse(await read(join(dir, '.lora-tagger', 'lock'))).pid)
      } catch {
        // torn lock: stale
      }
      if (pid > 0 && isAlive(pid)) violations.push(`lock held by live pid ${pid}`)
    }
    for (const f of files) if (f.includes('.lora-tmp-')) leftovers.push(f)
    // A kill that left the old tags must not block doing the rename now.
    if (side === 'old' && violations.length === 0) {
      const again = await lora(RENAME, dir)
      if (again.code !== 0) violations.push(`rerunning the rename exited ${again.code}: ${again.stderr.trim()}`)
      else if (JSON.stringify(await captionsOf(dir)) !== JSON.stringify(NEW.map((c) => c + '\n')))
        violations.push('rerunning the rename did not apply it')
    }
    return {n, run, side, violations, leftovers}
  }

  beforeAll(async () => {
    const base = join(await tempDir(), 'imgs')
    await copyFixtures(base, GOOD_FIXTURES)
    // An eighth image: a copy of one fixture with one byte appended (a different file, still a valid PNG).
    await fsp.writeFile(
      join(base, 'skimage-horse-copy.png'),
      Buffer.concat([await fsp.readFile(join(FIXTURES, 'skimage-horse.png')), Buffer.from('x')]),
    )
    await ok(['init', '.'], base)
    expect((await readState(base)).images).toHaveLength(8)
    await ok(['tag', '--stdin'], base, {input: OLD.map((c, i) => `img_000${i + 1}\t${c}\n`).join('')})
    expect(await captionsOf(base)).toEqual(OLD.map((c) => c + '\n'))
    expect(await vocabulary(base)).toBe(OLD_VOCAB)

    // Every N up to 8, then every 5th (every N with LORA_E2E_CRASH_FULL=1 or LORA_RELIABILITY_FULL=1), 3 at a time.
    const full = process.env.LORA_E2E_CRASH_FULL === '1' || process.env.LORA_RELIABILITY_FULL === '1'
    const points: number[] = []
    for (let n = 1; n < 400; n += full || n < 8 ? 1 : 5) points.push(n)
    const batch = 3
    for (let start = 0; start < points.length; start += batch) {
      const ns = points.slice(start, start + batch)
      const results = await Promise.all(ns.map((n) => attempt(base, n)))
      outcomes.push(...results)
      if (results.some((r) => r.run.signal === null && r.run.code === 0)) break
      if (results.some((r) => r.run.signal !== 'SIGKILL')) break // a failure: stop and report it
    }
  }, 600_000)

  it('is killed at each mutation until a run completes', () => {
    const firstDone = outcomes.findIndex((o) => o.run.code === 0 && o.run.signal === null)
    expect(firstDone).toBeGreaterThan(10)
    expect(outcomes.slice(0, firstDone).map((o) => [o.n, o.run.signal])).toEqual(
      outcomes.slice(0, firstDone).map((o) => [o.n, 'SIGKILL']),
    )
    // Both outcomes occur: kills before the journal leave the old tags, kills after it the new ones.
    expect(outcomes.some((o) => o.side === 'old')).toBe(true)
    expect(outcomes.some((o) => o.side === 'new' && o.run.signal === 'SIGKILL')).toBe(true)
  })

  it('after each kill and `lora status`, every caption has the old tag or every caption the new one; state and tags.txt agree', () => {
    expect(outcomes.length).toBeGreaterThan(10)
    expect(outcomes.flatMap((o) => o.violations.map((v) => `N=${o.n}: ${v}`))).toEqual([])
  })

  it('leaves no .lora-tmp- files after recovery', () => {
    expect(outcomes.length).toBeGreaterThan(10)
    expect(outcomes.flatMap((o) => o.leftovers.map((f) => `N=${o.n}: ${f}`))).toEqual([])
  })
})
