/**
 * `lora init` through the built binary (bin/run.js in a child process): a smoke of what only a process shows, the
 * exit status and the bytes on stdout and stderr, for a plain run, `--json` and the two error exits. Every case of
 * the command's behaviour runs in-process in test/commands/init.test.ts.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {
  FIXTURES,
  FIXTURE_FACTS,
  GOOD_FIXTURES,
  TRUNCATED,
  cleanupTemps,
  copyFixtures,
  listFiles,
  lora,
  readState,
  sha256,
  snapshot,
  tempDir,
} from './e2e-helpers.js'

afterAll(cleanupTemps)

const ALL_FIXTURES = [...GOOD_FIXTURES, TRUNCATED]

/** A temp folder holding copies of all the fixtures. */
async function imagesDir(): Promise<string> {
  const dir = join(await tempDir('lora-init-'), 'imgs')
  await copyFixtures(dir, ALL_FIXTURES)
  return dir
}

describe('lora init through bin/run.js', () => {
  it('exits 0 with its summary on stderr, nothing on stdout, and the dataset on disk', async () => {
    const dir = await imagesDir()
    const result = await lora(['init', '.'], {cwd: dir})
    expect(result).toMatchObject({code: 0, signal: null, stdout: ''})
    expect(result.stderr).toContain(`Created dataset ${dir}\n`)
    expect(result.stderr).toContain(`7 images copied to ${join(dir, 'output')}\n`)
    expect(result.stderr).toContain(`skipped ${TRUNCATED}: `)
    expect(result.stderr).toContain('0/7 tagged; 7 pending')
    const expected = [...FIXTURE_FACTS.flatMap((f) => [f.file, f.file.replace(/\.\w+$/u, '.txt')]), 'tags.txt'].sort()
    expect(await listFiles(join(dir, 'output'))).toEqual(expected)
    const state = await readState(dir)
    expect(state.images.map((i) => [i.id, i.source])).toEqual(FIXTURE_FACTS.map((f) => [f.id, f.source]))
    for (const f of FIXTURE_FACTS)
      expect(await sha256(join(dir, 'output', f.file))).toBe(await sha256(join(FIXTURES, f.source)))
  })

  it('--json prints the summary object on stdout and nothing on stderr', async () => {
    const dir = await imagesDir()
    const result = await lora(['init', '.', '--json'], {cwd: dir})
    expect(result).toMatchObject({code: 0, signal: null, stderr: ''})
    const summary = JSON.parse(result.stdout)
    expect(summary).toMatchObject({
      dataset: dir,
      created: true,
      mode: 'copy',
      images: {total: 7, tagged: 0, skipped: 0, pending: 7, auto: 0},
    })
    expect(summary.added.map((a: {id: string}) => a.id)).toEqual(FIXTURE_FACTS.map((f) => f.id))
  })

  it('exits 2 for a folder that does not exist and 1 for --strict with a problem file, one error line each, nothing written', async () => {
    const empty = await tempDir('lora-init-')
    const missing = await lora(['init', join(empty, 'nope')], {cwd: empty})
    expect(missing).toMatchObject({code: 2, signal: null, stdout: ''})
    expect(missing.stderr).toMatch(/^error: .*does not exist/mu)
    expect(missing.stderr.match(/^error:/gmu)).toHaveLength(1)
    expect(await fsp.readdir(empty)).toEqual([])

    const dir = await imagesDir()
    const before = await snapshot(dir)
    const strict = await lora(['init', '.', '--strict'], {cwd: dir})
    expect(strict).toMatchObject({code: 1, signal: null, stdout: ''})
    expect(strict.stderr).toMatch(new RegExp(`^error: .*${TRUNCATED.replace('.', '\\.')}`, 'mu'))
    expect(strict.stderr.match(/^error:/gmu)).toHaveLength(1)
    expect(await snapshot(dir)).toEqual(before)
  })
})
