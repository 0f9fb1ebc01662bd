/**
 * The in-process harness (test/in-process.ts) is faithful: for a set of invocations covering what the command tests
 * rely on (human output, `--json`, a usage error, no dataset, `--stdin` input, an error with a hint, an oclif-level
 * error, git history), `loraIn` returns the exit code, stdout and stderr that spawning `bin/run.js` gives, byte for
 * byte. Each invocation runs on the same dataset folder in the same state both times (the folder is recreated from
 * a template in between), so paths printed by the command are equal too.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {copyFixtures, type RunResult} from '../helpers.js'
import {cleanupTemps, lora, loraOk, tempDir} from '../e2e/e2e-helpers.js'
import {GIT_ENV as GIT_IDENTITY} from '../git-helpers.js'
import {loraIn} from '../in-process.js'

/** The fixed git identity of the history tests, with fixed dates (the same commit hash from both runs where possible). */
const GIT_ENV: NodeJS.ProcessEnv = {
  ...GIT_IDENTITY,
  GIT_AUTHOR_DATE: '2024-01-02T03:04:05Z',
  GIT_COMMITTER_DATE: '2024-01-02T03:04:05Z',
}

let template: string
let gitTemplate: string
let empty: string

beforeAll(async () => {
  template = join(await tempDir('lora-fidelity-tpl-'), 'imgs')
  await copyFixtures(template, [
    'plasma-Autumn-screenshot.jpg',
    'plasma-Kite-screenshot.jpg',
    'skimage-horse.png',
    'skimage-truncated.jpg',
  ])
  await loraOk(['init', '.'], {cwd: template})
  await loraOk(['tag', '--stdin'], {cwd: template, input: 'img_0001\tlonghair, smile\nimg_0002\tlong hair, smile\n'})
  gitTemplate = join(await tempDir('lora-fidelity-git-'), 'imgs')
  await copyFixtures(gitTemplate, ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg'])
  await loraOk(['init', '.', '--git', '--move'], {cwd: gitTemplate, env: GIT_ENV})
  await loraOk(['tag', '1', '--add', 'red hair'], {cwd: gitTemplate, env: GIT_ENV})
  empty = await tempDir('lora-fidelity-empty-')
}, 60_000)
afterAll(cleanupTemps)

/** Makes `dir` a fresh copy of `from` (removing what is there). */
async function reset(dir: string, from: string): Promise<void> {
  await fsp.rm(dir, {recursive: true, force: true})
  await fsp.cp(from, dir, {recursive: true})
}

/** Runs `args` through the binary and in-process, each on a fresh copy of `from` at the same path. */
async function both(
  args: string[],
  from: string | undefined,
  options: {env?: NodeJS.ProcessEnv; input?: string; cwd?: string} = {},
): Promise<{binary: RunResult; inProcess: RunResult}> {
  let cwd = options.cwd ?? empty
  if (from) {
    cwd = join(await tempDir('lora-fidelity-'), 'imgs')
    await reset(cwd, from)
  }
  const binary = await lora(args, {cwd, env: options.env, input: options.input})
  if (from) await reset(cwd, from)
  const inProcess = await loraIn(args, {cwd, env: options.env, input: options.input})
  return {binary, inProcess}
}

/** The parts the harness promises to reproduce; `mask` hides what differs between any two runs. */
const view = (r: RunResult, mask?: RegExp) => ({
  code: r.code,
  stdout: mask ? r.stdout.replace(mask, '<masked>') : r.stdout,
  stderr: r.stderr,
})

describe('loraIn gives what bin/run.js gives, byte for byte', () => {
  const cases: {
    name: string
    args: string[]
    from?: () => string
    input?: string
    env?: NodeJS.ProcessEnv
    code: number
    mask?: RegExp
  }[] = [
    {name: 'a listing (human output)', args: ['tags'], from: () => template, code: 0},
    {name: '--json', args: ['tags', '--json'], from: () => template, code: 0},
    {
      name: 'a dry run: data on stdout, the summary on stderr',
      args: ['tags', 'rename', 'longhair', 'long hair', '--dry-run'],
      from: () => template,
      code: 0,
    },
    {
      name: 'a writing command and its --json report',
      args: ['tags', 'rename', 'longhair', 'long hair', '--json'],
      from: () => template,
      code: 0,
    },
    {
      name: 'tag --stdin with input',
      args: ['tag', '--stdin'],
      from: () => template,
      input: 'img_0003\tcat, sitting\nimg_0001\t\n',
      code: 0,
    },
    {
      name: 'a usage error of lora (exit 2, with a hint)',
      args: ['tags', 'rename', 'smile', 'smile'],
      from: () => template,
      code: 2,
    },
    {name: 'an oclif parse error (exit 2)', args: ['tags', '--sort', 'colour'], from: () => template, code: 2},
    {name: 'an unknown flag (exit 2)', args: ['tags', 'rm', 'smile', '--bogus'], from: () => template, code: 2},
    {name: 'no dataset (exit 3)', args: ['tags'], code: 3},
    {name: 'no dataset with --json (exit 3)', args: ['status', '--json'], code: 3},
    {name: 'a missing image (exit 2, with a hint)', args: ['tag', '9', '--add', 'x'], from: () => template, code: 2},
    {
      name: 'colours forced (FORCE_COLOR=1, NO_COLOR unset)',
      args: ['tags', 'rename', 'smile', ' '],
      from: () => template,
      env: {NO_COLOR: undefined, FORCE_COLOR: '1'},
      code: 2,
    },
    {name: "an unknown command (oclif's own message)", args: ['nonsense'], from: () => template, code: 2},
    {name: 'status (the fast path in the binary)', args: ['status'], from: () => template, code: 0},
    {name: 'git history: lora log --json', args: ['log', '--json'], from: () => gitTemplate, env: GIT_ENV, code: 0},
    // The commit's hash differs between any two runs: state.json records when the image was updated.
    {
      name: 'git history: a committing tag',
      args: ['tag', '2', '--add', 'smile', '--json'],
      from: () => gitTemplate,
      env: GIT_ENV,
      code: 0,
      mask: /"commit": "[0-9a-f]{40}"/u,
    },
    {
      name: 'an error with a hint (exit 1): undo without history',
      args: ['undo'],
      from: () => template,
      env: GIT_ENV,
      code: 1,
    },
  ]
  for (const c of cases) {
    it(`${c.name}: lora ${c.args.join(' ')}`, async () => {
      const {binary, inProcess} = await both(c.args, c.from?.(), {env: c.env, input: c.input})
      expect(binary.code).toBe(c.code)
      expect(binary.stdout + binary.stderr).not.toBe('')
      if (c.mask) expect(binary.stdout).toMatch(c.mask)
      if (c.env?.FORCE_COLOR) expect(binary.stderr).toContain('\u001b[')
      expect(view(inProcess, c.mask)).toEqual(view(binary, c.mask))
    })
  }
})

describe('loraIn leaves the test process as it found it', () => {
  /** What a run could leave changed in the test process. */
  const processState = () => ({
    cwd: process.cwd(),
    env: {...process.env},
    exitCode: process.exitCode,
    log: console.log,
    error: console.error,
    stdoutListeners: process.stdout.listenerCount('error'),
    exitListeners: process.listenerCount('exit'),
  })

  it('working folder, environment, exit code, console and listeners after success, errors and env changes', async () => {
    const dir = join(await tempDir('lora-fidelity-'), 'imgs')
    await reset(dir, template)
    const before = processState()
    const runs: [string[], NodeJS.ProcessEnv | undefined, number][] = [
      [['tags', '--json'], undefined, 0],
      [
        ['tags', 'rename', 'smile', 'grin'],
        {LORA_DATASET: dir, PATH: '/nonexistent', FORCE_COLOR: '1', NO_COLOR: undefined},
        0,
      ],
      [['tags', 'rename', 'smile', 'smile'], undefined, 2],
      [['nonsense'], undefined, 2],
      [['undo'], GIT_ENV, 1],
      [['status'], {LORA_DATASET: empty}, 3],
    ]
    for (const [args, env, code] of runs)
      expect([args, (await loraIn(args, {cwd: dir, env})).code]).toEqual([args, code])
    expect(processState()).toEqual(before)
    // The second run really ran with its environment: it renamed in LORA_DATASET.
    expect(await fsp.readFile(join(dir, 'output', 'tags.txt'), 'utf8')).toContain('grin')
  })

  it('refuses a run that would overlap one under way, and a missing folder changes nothing', async () => {
    const before = processState()
    const first = loraIn(['tags'], {cwd: template})
    await expect(loraIn(['tags'], {cwd: template})).rejects.toThrow(/must not overlap/u)
    expect((await first).code).toBe(0)
    await expect(loraIn(['tags'], {cwd: join(empty, 'missing')})).rejects.toThrow(/ENOENT/u)
    expect(processState()).toEqual(before)
    expect((await loraIn(['tags'], {cwd: template})).code).toBe(0)
  })
})
