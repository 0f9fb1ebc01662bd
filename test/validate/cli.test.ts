/**
 * `lora validate` through the built binary (bin/run.js in a child process): a smoke of what only a process shows,
 * exit statuses 0/4/2/3 and the bytes on stdout and stderr, with and without forced colour. Every case of the
 * command's behaviour runs in-process in test/commands/validate.test.ts. Build first (`npm run build`; `npm test`
 * does).
 */
import {execFileSync} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {removeTemp, runCli, type RunResult} from '../helpers.js'
import {folder, IMG, type Spec} from './fixtures.js'

const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

async function tempFolder(files: Record<string, Spec>): Promise<string> {
  const root = await fsp.realpath(await folder(files))
  temps.push(root)
  return root
}

/** Runs the CLI; retried when dist/ was being rebuilt by another process at that instant (nothing ran). */
async function lora(args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  for (let attempt = 0; ; attempt++) {
    const result = await runCli(args, {cwd, env})
    const race =
      result.code !== 0 && /ModuleLoadError|MODULE_NOT_FOUND|Cannot find module '[^']*\/dist\//u.test(result.stderr)
    if (!race || attempt >= 20) return result
    await new Promise((r) => setTimeout(r, 500))
  }
}

const pair = (stem: string, caption: string | Uint8Array = 'ohwx, red hair, smile\n'): Record<string, Spec> => ({
  [`${stem}.jpg`]: {image: IMG.jpg},
  [`${stem}.txt`]: caption,
})

/** A plain kohya train_data_dir made by hand (no .lora-tagger/), with one error and one warning. */
const KOHYA_WITH_PROBLEMS: Record<string, Spec> = {
  ...pair('10_ohwx cat/a'),
  '10_ohwx cat/b.png': {image: IMG.png}, // missing-caption (error)
  ...pair('10_ohwx cat/c', 'ohwx, sky,\n'), // empty-tag (warning)
}

describe('lora validate through bin/run.js', () => {
  it('exit 0 with the summary on stderr for a clean folder; exit 4 with findings on stdout, uncoloured unless forced', async () => {
    const clean = await tempFolder(pair('10_ohwx cat/a'))
    const ok = await lora(['validate', clean, '--target', 'kohya', '--min-side', '200'], clean)
    expect(ok).toMatchObject({code: 0, signal: null, stdout: ''})
    expect(ok.stderr).toContain(`Checked 1 image and 1 caption file in ${clean} (target kohya): no problems.`)

    const root = await tempFolder(KOHYA_WITH_PROBLEMS)
    const r = await lora(['validate', root, '--min-side', '200'], root)
    expect(r).toMatchObject({code: 4, signal: null})
    expect(r.stdout).toMatch(/^error {3}missing-caption \(1\): /u)
    expect(r.stderr).toContain(`error: Validation failed: 1 error in ${root}.`)
    expect(r.stderr.match(/error:/gu)).toHaveLength(1)
    expect(r.stdout + r.stderr).not.toMatch(/\u001b\[/u)
    const forced = await lora(['validate', root, '--min-side', '200'], root, {NO_COLOR: '', FORCE_COLOR: '1'})
    expect(forced.code).toBe(4)
    expect(forced.stdout).toMatch(/\u001b\[31m/u)
  })

  it('--format json and --format github: exit 4, the report alone on stdout', async () => {
    const root = await tempFolder(KOHYA_WITH_PROBLEMS)
    const json = await lora(['validate', root, '--format', 'json', '--min-side', '200'], root)
    expect(json).toMatchObject({code: 4, signal: null})
    expect(JSON.parse(json.stdout)).toMatchObject({version: 1, path: root, errors: 1, warnings: 1})
    const github = await lora(['validate', '.', '--format', 'github', '--min-side', '200'], root)
    expect(github).toMatchObject({code: 4, signal: null})
    expect(github.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^::error file=10_ohwx cat\/b\.png,/u),
      expect.stringMatching(/^::warning file=10_ohwx cat\/c\.txt,/u),
    ])
  })

  it('never walks a link to / nor opens a FIFO: finishes at once with each named (killed after 20 s)', async () => {
    const root = await tempFolder(pair('10_ohwx cat/a'))
    await fsp.symlink('/', `${root}/10_ohwx cat/root`)
    execFileSync('mkfifo', [`${root}/10_ohwx cat/x.txt`, `${root}/10_ohwx cat/y.png`])
    const r = await runCli(['validate', root, '--target', 'kohya', '--json', '--min-side', '200'], {
      cwd: root,
      killAfterMs: 20_000,
    })
    expect(r).toMatchObject({code: 4, signal: null})
    const report = JSON.parse(r.stdout)
    expect(report.checked).toEqual({images: 1, captions: 1})
    expect(report.findings.map((f: {rule: string; path: string}) => [f.rule, f.path])).toEqual([
      ['missing-caption', '10_ohwx cat/y.png'],
      ['orphan-caption', '10_ohwx cat/x.txt'],
      ['not-regular-file', '10_ohwx cat/root'],
      ['not-regular-file', '10_ohwx cat/x.txt'],
      ['not-regular-file', '10_ohwx cat/y.png'],
    ])
  })

  it('exit 2 for a usage error and 3 when no dataset is found, one error line each', async () => {
    const root = await tempFolder(pair('a'))
    const usage = await lora(['validate', root, '--rule', 'nope'], root)
    expect(usage).toMatchObject({code: 2, signal: null, stdout: ''})
    expect(usage.stderr).toMatch(/--rule nope: no such rule/u)
    const none = await lora(['validate'], await tempFolder({}))
    expect(none).toMatchObject({code: 3, signal: null, stdout: ''})
    expect(none.stderr).toContain(
      'No lora dataset here (no .lora-tagger/ in this folder, its parents, or the folders right inside it).',
    )
    for (const r of [usage, none]) expect(r.stderr.match(/^error:/gmu)).toHaveLength(1)
  })
})
