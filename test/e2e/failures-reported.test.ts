/**
 * Failures are reported as what they are, not turned into a false statement (issue 11, "no catch-all that
 * lies"): a broken git repository is a git error, not `git: null` in status or "No lora commit to undo"; an
 * unreadable reference folder is a permission error, not "no references" (and the index cache stays); a folder we
 * may not look into is a permission error, not "is not a folder" or "no dataset here"; a cache that cannot be
 * written is reported under `DEBUG=lora:cache` while the command still succeeds.
 *
 * Real cases only: a damaged `.git/config`, a deleted commit object, and (since root reads through chmod 000)
 * runs of the built CLI as the user `nobody` (setpriv; setups and the commands that need no process of their own run
 * in-process) on folders with their permissions taken away. Those are
 * skipped, with the reason printed, where setpriv cannot drop to another user.
 */
import {execFile, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {GitRepo} from '../../src/adapters/git.js'
import {cleanupTemps, copyFixtures, GOOD_FIXTURES, lora, type RunResult, tempDir} from './e2e-helpers.js'
import {loraIn, loraInOk as loraOk} from '../in-process.js'
import {BIN, cleanEnv, ROOT} from '../helpers.js'
import {GIT_ENV} from '../git-helpers.js'

afterAll(async () => {
  await cleanupTemps()
})

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, {cwd, env: {...cleanEnv(), ...GIT_ENV}, encoding: 'utf8'}, (error, stdout, stderr) => {
      if (error) reject(new Error(`git ${args.join(' ')}: ${stderr}`))
      else resolve(stdout)
    })
  })
}

/** The shape every reported failure has: one `error:` line, a `hint:` line, no stack trace, nothing on stdout. */
function reported(result: RunResult): {
  code: number | null
  stdout: string
  error: string
  hint: boolean
  stack: boolean
} {
  return {
    code: result.code,
    stdout: result.stdout,
    error: /^error: (.*)$/mu.exec(result.stderr)?.[1] ?? `(no error line) ${result.stderr}`,
    hint: /^hint: \S/mu.test(result.stderr),
    stack: /\n\s+at /u.test(result.stderr),
  }
}

/** A dataset of three images with history in git, two commits (enable, then a tag). */
async function gitDataset(): Promise<string> {
  const dir = join(await tempDir('lora-failures-git-'), 'imgs')
  await copyFixtures(dir, GOOD_FIXTURES.slice(0, 3))
  await loraOk(['init', '.', '--git'], {cwd: dir, env: GIT_ENV})
  await loraOk(['tag', '1', '--add', 'red hair'], {cwd: dir, env: GIT_ENV})
  return dir
}

describe('git failures are git errors', () => {
  it('status in a repository git cannot read fails with the git error, not `git: null`', async () => {
    const dir = await gitDataset()
    await fsp.appendFile(join(dir, '.git', 'config'), '[core\n')
    const result = await lora(['status', '--json'], {cwd: dir, env: GIT_ENV})
    expect(reported(result)).toEqual({
      code: 1,
      stdout: '',
      error: expect.stringMatching(/^git failed to .*bad config line/u),
      hint: true,
      stack: false,
    })
  })

  it('undo on a history with a missing commit fails with the git error, not "No lora commit to undo"', async () => {
    const dir = await gitDataset()
    // The first commit's object is gone: HEAD and its tree still read (status works), the log does not.
    const first = (await git(dir, ['rev-list', '--max-parents=0', 'HEAD'])).trim()
    await fsp.rm(join(dir, '.git', 'objects', first.slice(0, 2), first.slice(2)))
    const result = await loraIn(['undo'], {cwd: dir, env: GIT_ENV})
    expect(reported(result)).toEqual({
      code: 1,
      stdout: '',
      error: expect.stringMatching(/^git failed to read the history: .*Could not read/u),
      hint: true,
      stack: false,
    })
  })

  it('GitRepo.hasHead: false before the first commit, true after, and true (not "no commits") when HEAD is damaged', async () => {
    const dir = await tempDir('lora-failures-head-')
    await git(dir, ['init', '--quiet'])
    const repo = (await GitRepo.open(dir))!
    expect(await repo.hasHead()).toBe(false)
    await fsp.writeFile(join(dir, 'a.txt'), 'a\n')
    await git(dir, ['add', 'a.txt'])
    await git(dir, ['commit', '--quiet', '-m', 'a'])
    expect(await repo.hasHead()).toBe(true)
    const head = (await git(dir, ['rev-parse', 'HEAD'])).trim()
    await fsp.rm(join(dir, '.git', 'objects', head.slice(0, 2), head.slice(2)))
    expect(await repo.hasHead()).toBe(true)
  })
})

/** True when this process can run a child as `nobody` (uid 65534); as root chmod 000 stops nothing. */
const NOBODY = 65534
const dropProbe = spawnSync(
  'setpriv',
  [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-e', '0'],
  {encoding: 'utf8'},
)
const canDrop = process.getuid?.() === 0 && dropProbe.status === 0
if (!canDrop)
  process.stderr.write(
    `SKIP permission cases: cannot run lora as another user (not root, or setpriv failed: ${dropProbe.error?.message ?? dropProbe.stderr})\n`,
  )
const asNobodyIt = canDrop ? it : it.skip

/** Runs the built CLI as `nobody` in `cwd`. */
function asNobody(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): RunResult {
  const r = spawnSync(
    'setpriv',
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, BIN, ...args],
    {
      cwd,
      env: {...cleanEnv(), HOME: '/tmp', ...env},
      encoding: 'utf8',
      timeout: 60_000,
    },
  )
  return {code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr}
}

/** A temp folder `nobody` can enter, holding a dataset of three images owned by `nobody`. */
async function nobodyDataset(): Promise<string> {
  const root = await tempDir('lora-failures-perm-')
  await fsp.chmod(root, 0o755)
  const dir = join(root, 'imgs')
  await copyFixtures(dir, GOOD_FIXTURES.slice(0, 3))
  await loraOk(['init', '.'], {cwd: dir})
  chownTree(dir, NOBODY)
  return dir
}

function chownTree(path: string, uid: number): void {
  fs.chownSync(path, uid, uid)
  if (fs.lstatSync(path).isDirectory()) for (const name of fs.readdirSync(path)) chownTree(join(path, name), uid)
}

describe('permission errors are permission errors', () => {
  asNobodyIt(
    'an unreadable reference folder: `tags import --list` fails with permission denied, not an empty list',
    async () => {
      const dir = await nobodyDataset()
      await loraOk(['tags', 'import', join(ROOT, 'test', 'fixtures', 'vocab', 'danbooru-excerpt.csv')], {cwd: dir})
      chownTree(join(dir, '.lora-tagger'), NOBODY)
      expect(asNobody(['tags', 'import', '--list', '--json'], dir).code).toBe(0)
      await fsp.chmod(join(dir, '.lora-tagger', 'reference'), 0o000)
      const result = asNobody(['tags', 'import', '--list', '--json'], dir)
      expect(reported(result)).toEqual({
        code: 1,
        stdout: '',
        error: expect.stringMatching(/^Permission denied \(scandir .*\/\.lora-tagger\/reference\)/u),
        hint: true,
        stack: false,
      })
    },
  )

  asNobodyIt(
    'an unreadable reference folder: loading the autocomplete index fails and the index cache is kept',
    async () => {
      const dir = await nobodyDataset()
      await loraOk(['tags', 'import', join(ROOT, 'test', 'fixtures', 'vocab', 'danbooru-excerpt.csv')], {cwd: dir})
      chownTree(join(dir, '.lora-tagger'), NOBODY)
      const cache = join(dir, '.lora-tagger', 'cache', 'vocabulary.idx')
      const before = await fsp.readFile(cache)
      await fsp.chmod(join(dir, '.lora-tagger', 'reference'), 0o000)
      // What `lora next` does before its prompt, run from the build as `nobody`.
      const script = `import {openDataset} from ${JSON.stringify(join(ROOT, 'dist', 'store', 'dataset.js'))}
import {loadTagIndex} from ${JSON.stringify(join(ROOT, 'dist', 'services', 'references.js'))}
loadTagIndex(await openDataset(process.cwd())).then((i) => console.log('loaded', i === undefined ? 'nothing' : 'an index'), (e) => console.log('failed', e.code))`
      const r = spawnSync(
        'setpriv',
        [
          `--reuid=${NOBODY}`,
          `--regid=${NOBODY}`,
          '--clear-groups',
          process.execPath,
          '--input-type=module',
          '-e',
          script,
        ],
        {cwd: dir, env: {...cleanEnv(), HOME: '/tmp'}, encoding: 'utf8'},
      )
      expect({out: r.stdout.trim(), err: r.stderr}).toEqual({out: 'failed EACCES', err: ''})
      expect(await fsp.readFile(cache)).toEqual(before)
    },
  )

  asNobodyIt(
    '`lora init` and `lora validate` on a folder inside one we may not enter: permission denied, not "not a folder"',
    async () => {
      const root = await tempDir('lora-failures-stat-')
      await fsp.chmod(root, 0o755)
      const locked = join(root, 'locked')
      await copyFixtures(join(locked, 'imgs'), GOOD_FIXTURES.slice(0, 1))
      await fsp.chmod(locked, 0o000)
      for (const args of [
        ['init', join(locked, 'imgs')],
        ['validate', join(locked, 'imgs')],
      ]) {
        const result = asNobody(args, root)
        expect({args, ...reported(result)}).toEqual({
          args,
          code: 1,
          stdout: '',
          error: expect.stringMatching(/^Permission denied \(stat .*\/locked\/imgs\)/u),
          hint: true,
          stack: false,
        })
      }
      // A folder that does not exist is still a usage error that says so.
      const missing = asNobody(['init', join(root, 'nope')], root)
      expect(reported(missing)).toEqual({
        code: 2,
        stdout: '',
        error: `${join(root, 'nope')} does not exist.`,
        hint: true,
        stack: false,
      })
    },
  )

  asNobodyIt(
    'in a folder we may not list, no dataset found is a permission error, not "No lora dataset here"',
    async () => {
      const root = await tempDir('lora-failures-cwd-')
      await fsp.chmod(root, 0o755)
      const cwd = join(root, 'unlistable')
      await fsp.mkdir(cwd)
      // Enterable but not listable: the subfolder search cannot look.
      await fsp.chmod(cwd, 0o311)
      const result = asNobody(['status'], cwd)
      expect(reported(result)).toEqual({
        code: 1,
        stdout: '',
        error: expect.stringMatching(/^Permission denied \(scandir .*\/unlistable\)/u),
        hint: true,
        stack: false,
      })
    },
  )

  asNobodyIt('a cache that cannot be written: the command succeeds, and DEBUG=lora:cache says why', async () => {
    const dir = await nobodyDataset()
    const cache = join(dir, '.lora-tagger', 'cache')
    await fsp.rm(join(cache, 'summary.json'), {force: true})
    // The cache folder belongs to root: nobody cannot write in it.
    chownTree(cache, 0)
    await fsp.chmod(cache, 0o755)
    const quiet = asNobody(['status', '--json'], dir)
    expect({code: quiet.code, stderr: quiet.stderr}).toEqual({code: 0, stderr: ''})
    const debug = asNobody(['status', '--json'], dir, {DEBUG: 'lora:*'})
    expect(debug.code).toBe(0)
    expect(JSON.parse(debug.stdout)).toEqual(JSON.parse(quiet.stdout))
    expect(debug.stderr).toMatch(
      /lora:cache could not write .*\/\.lora-tagger\/cache\/summary\.json; the summary is recomputed next time: EACCES/u,
    )
  })
})
