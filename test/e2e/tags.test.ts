/**
 * `lora tags` through the built binary (`bin/run.js`, build first): a smoke run of the command group end to end.
 * The command behaviour (listing, rename, rm, add, normalize, import) is tested in-process in
 * test/commands/tags.test.ts; the kill sweep of a dataset-wide rename (each kill followed by a read-only
 * `lora status` or a rerun) is in test/reliability/failpoints-edit.test.ts. Real files in temp folders, no mocks.
 */
import {join} from 'node:path'
import {copyFixtures, runCli, type RunResult} from '../helpers.js'
import {CAPTIONS, TEMPLATE_IMAGES, caption, stateProblems, stderrLines, vocabulary} from '../tags-helpers.js'
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
