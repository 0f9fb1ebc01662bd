/**
 * Issue 12, rule 8 under kills: `lora undo` writes the dataset as one journaled change (no `git revert`), so a
 * SIGKILL before any of its file mutations (`LORA_FAILPOINT=N`, N = 1, 2, ... until a run completes) leaves, once
 * the next command has run, every caption it undoes either all old or all new, the state matching the captions,
 * no leftovers, and the user's staged work outside the dataset byte-identical and still staged. A run that
 * completes has undone the commit and committed exactly the dataset's files. Fast mode samples N; full mode
 * (LORA_RELIABILITY_FULL=1) runs every N.
 *
 * An undo killed mid-change and finished by the next command (`lora status`) is committed with the same message as
 * an uninterrupted undo, `Lora-Undoes` trailer included (the journal records the commit), so `lora undo` again
 * undoes the next older change.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {copyFixtures, GOOD_FIXTURES, sha256} from '../helpers.js'
import {GIT_ENV, git} from '../git-helpers.js'
import {
  cleanup,
  cloneDataset,
  EVERY_N,
  expectSweepShape,
  figures,
  leftovers,
  lora,
  loraHere,
  loraOk,
  type RunResult,
  readText,
  stateCaptionProblems,
  sweep,
  tempDir,
  violationsOf,
  FULL,
  type PointResult,
} from './reliability-helpers.js'

afterAll(cleanup)

const env = {...GIT_ENV}

/** `top` (a repository with a README) holding the dataset in `sub`; the last commit tags images 1 and 2 at once. */
async function template(): Promise<string> {
  const top = join(await tempDir('lora-rel-undo-'), 'top')
  await fsp.mkdir(top, {recursive: true})
  await git(top, ['init', '--quiet'])
  await fsp.writeFile(join(top, 'README'), 'committed\n')
  await git(top, ['add', 'README'])
  await git(top, ['commit', '--quiet', '-m', 'readme'])
  const ds = join(top, 'sub')
  await copyFixtures(ds, GOOD_FIXTURES.slice(0, 3))
  for (const args of [
    ['init', '.', '--git', '--move'],
    ['tag', '3', '--add', 'kept'],
    ['tag', '1', '2', '--add', 'red hair,smile'],
  ]) {
    const r = await loraHere(args, {cwd: ds, env})
    if (r.code !== 0) throw new Error(`lora ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  }
  return top
}

describe('lora undo killed before each file mutation', () => {
  it('ends all-old or all-new after the next command, with staged work outside the dataset untouched', async () => {
    const tpl = await template()
    const point = async (n: number): Promise<PointResult> => {
      const top = await cloneDataset(tpl)
      const ds = join(top, 'sub')
      await fsp.writeFile(join(top, 'README'), 'staged work\n')
      await git(top, ['add', 'README'])
      const result = await lora(['undo'], {cwd: ds, env: {...env, LORA_FAILPOINT: String(n)}})
      const killed = result.signal === 'SIGKILL'
      const violations: string[] = []
      if (!killed && result.code !== 0) violations.push(`undo exited ${result.code}: ${result.stderr.trim()}`)
      // The next command (any; in-process, as only the killed run needs a process) finishes an interrupted change.
      const status = await loraHere(['status'], {cwd: ds, env})
      if (status.code !== 0) violations.push(`status after the kill exited ${status.code}: ${status.stderr.trim()}`)
      const captions = [
        await readText(join(ds, 'output', 'img_0001.txt')),
        await readText(join(ds, 'output', 'img_0002.txt')),
      ]
      const allNew = captions.every((c) => c === '')
      const allOld = captions.every((c) => c === 'red hair, smile\n')
      if (!allNew && !allOld) violations.push(`captions torn: ${JSON.stringify(captions)}`)
      if ((await readText(join(ds, 'output', 'img_0003.txt'))) !== 'kept\n') violations.push('img_0003 changed')
      // A killed writer's lock stays until the next writer reclaims it (its pid is gone); `status` only reads.
      violations.push(
        ...(await stateCaptionProblems(ds)),
        ...(await leftovers(ds)).filter((l) => !(killed && l.startsWith('lock left'))),
      )
      if ((await readText(join(top, 'README'))) !== 'staged work\n') violations.push('README changed')
      if ((await git(top, ['show', ':README'])) !== 'staged work\n') violations.push('README no longer staged')
      if (!killed) {
        if (!allNew) violations.push('completed run did not undo')
        const files = (await git(top, ['show', '--name-only', '--format=', 'HEAD'])).split('\n').filter(Boolean).sort()
        if (
          files.join(' ') !==
          'sub/.lora-tagger/state.json sub/output/img_0001.txt sub/output/img_0002.txt sub/output/tags.txt'
        )
          violations.push(`undo commit touched ${files.join(' ')}`)
      }
      return {n, killed, violations}
    }
    // Fast mode samples N (every N up to 4, then every 6th, and the 2 before the completing run); full mode runs every N.
    const plan = FULL ? {...EVERY_N, concurrency: 2, max: 200} : {head: 4, stride: 6, tail: 2, concurrency: 2, max: 200}
    const {results, completesAt} = await sweep(plan, point)
    figures('failpoints, undo of a 2-image tag commit', {
      'completes at N': completesAt,
      kills: results.filter((r) => r.killed).length,
      violations: violationsOf(results).length,
    })
    expect(violationsOf(results)).toEqual([])
    expectSweepShape(results, completesAt, 3, FULL)
    // A sweep of dozens of killed runs: 57 s in CI on a slow day, against jest's 60 s default.
  }, 240_000)
})

describe('an undo killed mid-change, finished by the next command', () => {
  it('is committed as an uninterrupted undo (same message, Lora-Undoes trailer); `lora undo` again undoes the next older change', async () => {
    const tpl = await template()
    const message = async (top: string) => git(top, ['log', '-1', '--format=%B'])
    // The uninterrupted undo, for comparison; its mutations show where the journal is written.
    const whole = await cloneDataset(tpl)
    const log = join(await tempDir('lora-rel-undo-log-'), 'mutations.jsonl')
    await loraOk(['undo'], {cwd: join(whole, 'sub'), env: {...env, LORA_MUTATION_LOG: log}})
    const expected = await message(whole)
    const undone = (await git(whole, ['rev-parse', 'HEAD~1'])).trim()
    expect(expected).toMatch(new RegExp(`\\nLora-Change: undo\\n(.*\\n)*Lora-Undoes: ${undone}\\n`, 'u'))
    const mutations = (await fsp.readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as {op: string; path: string; to?: string})
    // Positions in the log count from 1 for this run (`n` counts from the test process's first in-process run).
    const journalAt = mutations.findIndex((m) => m.op === 'rename' && m.to?.endsWith('/.lora-tagger/journal.json'))
    // Killed before its first write after the journal: the journal is there, no caption is changed yet.
    const firstWrite = mutations.findIndex((m, i) => i > journalAt && m.path.includes('/output/')) + 1

    const top = await cloneDataset(tpl)
    const ds = join(top, 'sub')
    await fsp.writeFile(join(top, 'README'), 'staged work\n')
    await git(top, ['add', 'README'])
    const readme = await sha256(join(top, 'README'))
    const killed: RunResult = await lora(['undo'], {cwd: ds, env: {...env, LORA_FAILPOINT: String(firstWrite)}})
    expect(killed.signal).toBe('SIGKILL')
    await fsp.access(join(ds, '.lora-tagger', 'journal.json'))
    expect(await readText(join(ds, 'output', 'img_0001.txt'))).toBe('red hair, smile\n')

    const status = await loraHere(['status'], {cwd: ds, env})
    expect(status.code).toBe(0)
    expect(await readText(join(ds, 'output', 'img_0001.txt'))).toBe('')
    expect(await message(top)).toBe(expected)
    expect((await git(top, ['status', '--porcelain', '--', 'sub'])).trim()).toBe('')
    expect(await sha256(join(top, 'README'))).toBe(readme)
    expect(await git(top, ['show', ':README'])).toBe('staged work\n')

    // The undo stack: the next `lora undo` undoes the older `tag 3 --add kept`, not the undone commit again.
    const again = await loraHere(['undo', '--json'], {cwd: ds, env})
    expect(again.code).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({subject: 'tag img_0003: +kept', images: ['img_0003']})
    expect(await readText(join(ds, 'output', 'img_0003.txt'))).toBe('')
    expect(await readText(join(ds, 'output', 'img_0001.txt'))).toBe('')
  })
})
