/**
 * Issue 13, "The command line": a mistyped command gets "did you mean" in lora's `error:` / `hint:` form (exit 2,
 * nothing asked, nothing run); a word a command does not take is "Unexpected argument" (exit 2), not "command
 * next:extra not found"; global flags work before the command, as git takes them; oclif's own parse errors are
 * printed once, in lora's form, with the command in its space form (`lora tags rename --help`).
 * In-process (test/in-process.ts); needs `npm run build`. What needs the binary (the fast path, a terminal) is in
 * test/e2e/command-line.test.ts.
 */
import {join} from 'node:path'
import {loraIn, loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, removeTemp} from '../helpers.js'
import {snapshot} from '../e2e/e2e-helpers.js'

let tmp: string
let root: string

beforeAll(async () => {
  tmp = await makeTemp('lora-cli-')
  root = join(tmp, 'ds')
  await copyFixtures(root, ['plasma-Autumn-screenshot.jpg', 'skimage-horse.png'])
  await loraInOk(['init', '.'], {cwd: root})
})
afterAll(() => removeTemp(tmp))

/** Runs `args` in the temp folder above the dataset (so that only `-C` finds it, or in `cwd`). */
const run = (args: string[], cwd = root) => loraIn(args, {cwd})

describe('a mistyped command', () => {
  it.each([
    [['stauts'], 'stauts', '`lora status`'],
    [['Status'], 'Status', '`lora status`'],
    [['exprot', 'x.csv'], 'exprot', '`lora export`'],
    [['val'], 'val', '`lora validate`'],
    // tag and tags are both one edit from tagg: tag takes --add, tags does not.
    [['tagg', '1', '--add', 'x'], 'tagg', '`lora tag`'],
    [['tagg'], 'tagg', 'one of `lora tag`, `lora tags`'],
    [['tags', 'renam', 'a', 'b'], 'tags renam', '`lora tags rename`'],
    [['git', 'enabel'], 'git enabel', '`lora git enable`'],
    [['-C', 'ds', 'stauts'], 'stauts', '`lora status`'],
  ])('lora %j: exit 2, did you mean %s → %s, nothing written', async (args, typed, suggestion) => {
    const before = await snapshot(root)
    const result = await run(args)
    const help = typed.startsWith('tags ') ? 'lora tags' : typed.startsWith('git ') ? 'lora git' : 'lora'
    expect(result).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `error: ${typed} is not a lora command.\nhint: Did you mean ${suggestion}? See \`${help} --help\` for the commands.\n`,
    })
    expect(await snapshot(root)).toEqual(before)
  })

  it('suggests nothing when no command is close', async () => {
    expect(await run(['xyzzy'])).toMatchObject({
      code: 2,
      stderr: 'error: xyzzy is not a lora command.\nhint: See `lora --help` for the commands.\n',
    })
  })

  it('shows a control character in what was typed escaped', async () => {
    const result = await run(['st\x1b[2Jatus'])
    expect(result.code).toBe(2)
    expect(result.stderr).not.toContain('\x1b')
    expect(result.stderr).toContain('error: st\\x1b[2Jatus is not a lora command.')
  })
})

describe('a word the command does not take', () => {
  it.each([
    [['next', 'extra'], 'next'],
    [['status', 'extra'], 'status'],
    [['tags', 'sky'], 'tags'],
    [['git', 'enable', 'now'], 'git enable'],
  ])('lora %j: Unexpected argument, exit 2', async (args, command) => {
    const result = await run(args)
    expect(result).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `error: Unexpected argument: ${args.at(-1)}\nhint: See \`lora ${command} --help\`.\n`,
    })
  })
})

describe('global flags before the command', () => {
  it('lora -C ds status --json, lora -C ds --json status and lora status -C ds --json print the same', async () => {
    const after = await loraInOk(['status', '-C', 'ds', '--json'], {cwd: tmp})
    for (const args of [
      ['-C', 'ds', 'status', '--json'],
      ['-C', 'ds', '--json', 'status'],
      ['--json', '-Cds', 'status'],
      ['--dataset=ds', '--json', 'status'],
      ['--dataset', 'ds', '--no-color', '--json', 'status'],
    ]) {
      const before = await loraInOk(args, {cwd: tmp})
      expect(before.stdout).toBe(after.stdout)
      expect(JSON.parse(before.stdout)).toMatchObject({dataset: root, images: {total: 2}})
    }
  })

  it('work for every command: tags, tag, log, a subcommand, and with the command flags after', async () => {
    expect(JSON.parse((await loraInOk(['-C', 'ds', '--json', 'tags'], {cwd: tmp})).stdout)).toEqual({tags: []})
    await loraInOk(['-C', 'ds', 'tag', '1', '--add', 'sky'], {cwd: tmp})
    await loraInOk(['--no-color', '-C', 'ds', 'tags', 'rename', 'sky', 'blue sky'], {cwd: tmp})
    expect(JSON.parse((await loraInOk(['-C', 'ds', '--json', 'tags'], {cwd: tmp})).stdout)).toEqual({
      tags: [{tag: 'blue sky', count: 1}],
    })
    // log runs (and says why it has nothing to show: no history), rather than "command --no-color not found".
    const log = await loraIn(['--no-color', '-C', 'ds', 'log'], {cwd: tmp})
    expect(log).toMatchObject({code: 1, stderr: expect.stringMatching(/^error: .* has no history\.\nhint: /u)})
  })

  it('a dataset named by LORA_DATASET that is not one: the hint speaks of LORA_DATASET, not -C', async () => {
    const missing = await loraIn(['status'], {cwd: tmp, env: {LORA_DATASET: join(tmp, 'nope')}})
    expect(missing.code).toBe(3)
    expect(missing.stderr).toBe(
      `error: LORA_DATASET=${join(tmp, 'nope')}: ${join(tmp, 'nope')} does not exist.\n` +
        'hint: Check the path; `LORA_DATASET` takes the folder you ran `lora init` on.\n',
    )
    const notOne = await loraIn(['status'], {cwd: tmp, env: {LORA_DATASET: tmp}})
    expect(notOne.stderr).toContain('or point LORA_DATASET at a dataset.')
    const flag = await loraIn(['-C', 'nope', 'status'], {cwd: tmp})
    expect(flag.stderr).toContain('hint: Check the path; `-C` takes the folder you ran `lora init` on.')
  })

  it('lora --help lists as topics only the words with subcommands (git, models, tags), and every command once', async () => {
    const result = await loraInOk(['--help'], {cwd: tmp})
    // The first word of each entry of a section (`  git     Dataset history…`; wrapped lines are indented more).
    const section = (name: string) =>
      (result.stdout.split(`\n${name}\n`)[1] ?? '')
        .split('\n\n')[0]
        .split('\n')
        .filter((line) => /^ {2}\S/u.test(line))
        .map((line) => line.trim().split(/\s+/u)[0])
    expect(section('TOPICS')).toEqual(['git', 'models', 'tags'])
    const commands = section('COMMANDS')
    expect(commands).toContain('ls')
    expect(new Set(commands).size).toBe(commands.length)
  })

  it('help of the command follows them: lora -C ds tags rename --help', async () => {
    const result = await loraInOk(['-C', 'ds', 'tags', 'rename', '--help'], {cwd: tmp})
    expect(result.stdout).toMatch(/^Rename a tag/u)
    expect(result.stdout).toContain('$ lora tags rename OLD NEW')
  })

  it.each([
    [['-C'], 'error: -C needs a value: the dataset folder.\n'],
    [['-C', '--json', 'status'], 'error: -C needs a value: the dataset folder.\n'],
    [['-C', 'ds'], 'error: No command given.\n'],
    [
      ['--add', 'x', 'tag', '1'],
      'error: --add is not a global flag: before the command, lora takes only -C/--dataset, --no-color and --json.\n',
    ],
  ])('lora %j is a usage error (exit 2)', async (args, error) => {
    const result = await loraIn(args, {cwd: tmp})
    expect(result.code).toBe(2)
    expect(result.stderr.startsWith(error)).toBe(true)
    expect(result.stderr.slice(error.length)).toMatch(/^hint: .+\n$/u)
  })
})

describe("oclif's parse errors, in lora's form, once", () => {
  it.each([
    [['tags', 'rename'], 'Missing 2 required args:\nold  Tag to rename\nnew  New name', 'tags rename'],
    [['tag', '1', '--bogus'], 'Nonexistent flag: --bogus', 'tag'],
    [
      ['export', 'x', '--format', 'nope'],
      'Expected --format=nope to be one of: folder, csv, tsv, json, jsonl',
      'export',
    ],
    [['tag', '1', '--add'], 'Flag --add expects a value', 'tag'],
    [['git', 'enable', '--bogus'], 'Nonexistent flag: --bogus', 'git enable'],
    // oclif writes `Parsing --repeats \n\tExpected …`: one line here, no `\t` shown.
    [
      ['export', 'x', '--target', 'kohya', '--repeats', '0'],
      '--repeats: Expected an integer greater than or equal to 1 but received: 0',
      'export',
    ],
  ])('lora %j', async (args, message, command) => {
    expect(await run(args)).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `error: ${message}\nhint: See \`lora ${command} --help\`.\n`,
    })
  })

  it('a mistyped flag: the hint names the close ones (lora tag 1 --ad x, lora export o --taget kohya)', async () => {
    expect(await run(['tag', '1', '--ad', 'x'])).toMatchObject({
      code: 2,
      stderr: 'error: Nonexistent flag: --ad\nhint: Did you mean --add? See `lora tag --help`.\n',
    })
    expect((await run(['export', 'o', '--taget', 'kohya'])).stderr).toContain(
      'hint: Did you mean --target? See `lora export --help`.',
    )
    // A global flag is a flag of every command.
    expect((await run(['status', '--jsn'])).stderr).toContain('hint: Did you mean --json? See `lora status --help`.')
  })

  it("oclif's errors outside a command: lora help stauts, lora autocomplete fish", async () => {
    expect(await run(['help', 'stauts'])).toMatchObject({
      code: 2,
      stderr: 'error: Command stauts not found.\nhint: See `lora --help`.\n',
    })
    expect(await run(['autocomplete', 'fish'])).toMatchObject({
      code: 2,
      stderr: 'error: Expected fish to be one of: zsh, bash, powershell\nhint: See `lora --help`.\n',
    })
  })
})
