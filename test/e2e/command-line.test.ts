/**
 * Issue 13, "The command line", through the built binary (bin/run.js): what needs a process. A mistyped command on
 * a real terminal (node-pty) is answered with "did you mean" and exit 2 at once: nothing is asked (as
 * @oclif/plugin-not-found would: "Did you mean tag? (Y/n)") and nothing runs in its place. bin/run.js prints oclif's
 * own errors in lora's form (src/cli/top-level.ts). Shell completion (`lora autocomplete bash|zsh|powershell`,
 * @oclif/plugin-autocomplete) writes its scripts offline under the cache folder; the bash one passes `bash -n` and
 * completes lora's commands in a real bash. The in-process cases are in test/commands/command-line.test.ts; global
 * flags before the command on the fast path in test/e2e/fast-path.test.ts.
 */
import {spawnSync} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {killRunning, PtySession} from './pty.js'
import {cleanEnv, copyFixtures, makeTemp, removeTemp, runCli} from '../helpers.js'
import {snapshot} from './e2e-helpers.js'

let tmp: string
let dataset: string

beforeAll(async () => {
  tmp = await fsp.realpath(await makeTemp('lora-cli-e2e-'))
  dataset = join(tmp, 'ds')
  await copyFixtures(dataset, ['plasma-Kite-screenshot.jpg', 'skimage-horse.png'])
  for (const args of [
    ['init', '.'],
    ['tag', '1', '--add', 'kite'],
  ]) {
    const r = await runCli(args, {cwd: dataset})
    if (r.code !== 0) throw new Error(`lora ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  }
})
afterEach(() => killRunning())
afterAll(async () => removeTemp(tmp))

describe('a mistyped command on a terminal', () => {
  it.each([
    [['stauts'], 'stauts', '`lora status`'],
    [['tagg', '--all', '--clear'], 'tagg', '`lora tag`'],
  ])('lora %j: did you mean, exit 2, nothing asked, nothing run', async (args, typed, suggestion) => {
    const before = await snapshot(dataset)
    const env: NodeJS.ProcessEnv = {...cleanEnv(), TERM: 'xterm-256color'}
    delete env.CI
    const session = new PtySession(args, dataset, env)
    // No key is ever sent: a prompt would wait, and the plugin's answers itself "yes" after 10 s (a different exit
    // code and text below), so the wait for the exit can be generous on a loaded machine.
    expect((await session.exit(30_000)).exitCode).toBe(2)
    expect(session.text.replaceAll('\r\n', '\n')).toBe(
      `error: ${typed} is not a lora command.\nhint: Did you mean ${suggestion}? See \`lora --help\` for the commands.\n`,
    )
    expect(await snapshot(dataset)).toEqual(before)
  })
})

describe("a spinner on a terminal: coloured as lora's messages are", () => {
  it.each([
    [{}, true],
    [{NO_COLOR: '1'}, false],
  ])('lora validate with %j: the spinner frame coloured: %s', async (extra, coloured) => {
    const env: NodeJS.ProcessEnv = {...cleanEnv(), TERM: 'xterm-256color', NO_COLOR: undefined, ...extra}
    delete env.CI
    const session = new PtySession(['validate', 'output'], dataset, env)
    await session.exit(30_000)
    expect(session.text).toMatch(/Validating \d+\/\d+/u)
    // ora's frame in its colour (cyan, `ESC [36m`) only when colour is on.
    expect(session.output.includes('\u001b[36m')).toBe(coloured)
  })
})

describe('through bin/run.js', () => {
  it('lora stauts without a terminal: the same, on stderr', async () => {
    expect(await runCli(['stauts'], {cwd: dataset})).toMatchObject({
      code: 2,
      stdout: '',
      stderr:
        'error: stauts is not a lora command.\nhint: Did you mean `lora status`? See `lora --help` for the commands.\n',
    })
  })

  it("oclif's own errors are printed in lora's form: lora help stauts", async () => {
    expect(await runCli(['help', 'stauts'], {cwd: dataset})).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'error: Command stauts not found.\nhint: See `lora --help`.\n',
    })
  })

  it('global flags before a command oclif runs: lora -C ds --json tags, lora --no-color -C ds next extra', async () => {
    const tags = await runCli(['-C', 'ds', '--json', 'tags'], {cwd: tmp})
    expect(tags.code).toBe(0)
    expect(JSON.parse(tags.stdout)).toEqual({tags: [{tag: 'kite', count: 1}]})
    expect(await runCli(['--no-color', '-C', 'ds', 'next', 'extra'], {cwd: tmp})).toMatchObject({
      code: 2,
      stderr: 'error: Unexpected argument: extra\nhint: See `lora next --help`.\n',
    })
  })
})

describe('shell completion', () => {
  it('lora autocomplete bash|zsh|powershell writes the scripts; bash -n accepts the bash one, which completes lora', async () => {
    const cache = join(tmp, 'cache')
    const env = {XDG_CACHE_HOME: cache, HOME: tmp}
    for (const shell of ['bash', 'zsh', 'powershell']) {
      const r = await runCli(['autocomplete', shell], {cwd: tmp, env})
      expect(r.code).toBe(0)
      expect(r.stdout).toContain(`lora autocomplete script ${shell}`)
    }
    const dir = join(cache, 'lora', 'autocomplete')
    const bash = join(dir, 'functions', 'bash', 'lora.bash')
    const script = await fsp.readFile(bash, 'utf8')
    for (const line of ['status --json --dataset --no-color', 'tags:rename ', 'git:enable ', 'tag --json'])
      expect(script).toContain(`\n${line}`)
    expect(spawnSync('bash', ['-n', bash], {encoding: 'utf8'})).toMatchObject({status: 0, stderr: ''})
    for (const [words, expected] of [
      [['lora', 'st'], 'status'],
      [['lora', 'tags', 're'], 'rename'],
      [['lora', 'tag', '--ad'], '--add'],
    ] as const) {
      const r = spawnSync(
        'bash',
        [
          '-c',
          `source "$1"; COMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _lora_autocomplete; echo "\${COMPREPLY[*]}"`,
          'bash',
          bash,
        ],
        {encoding: 'utf8'},
      )
      expect(r.stdout).toBe(`${expected}\n`)
    }
    // What the README tells bash users to add to ~/.bashrc sources the same file.
    const setup = await runCli(['autocomplete', 'script', 'bash'], {cwd: tmp, env})
    expect(setup.stdout).toContain(join(dir, 'bash_setup'))
    expect(await fsp.readFile(join(dir, 'bash_setup'), 'utf8')).toContain(bash)
    expect(await fsp.readFile(join(dir, 'functions', 'zsh', '_lora'), 'utf8')).toContain('tags')
    expect(await fsp.readFile(join(dir, 'functions', 'powershell', 'lora.ps1'), 'utf8')).toContain('rename')
    // LORA_CACHE_DIR moves the scripts.
    const moved = join(tmp, 'moved')
    expect((await runCli(['autocomplete', 'bash'], {cwd: tmp, env: {...env, LORA_CACHE_DIR: moved}})).code).toBe(0)
    expect(await fsp.readFile(join(moved, 'autocomplete', 'functions', 'bash', 'lora.bash'), 'utf8')).toContain(
      '\nstatus --json',
    )
  })
})
