/**
 * The write transaction (src/store/transaction.ts) on real datasets in temp folders (made by `initDataset` from
 * real fixture images) with real git repositories: the commit check before any change, the lock (released in
 * every case, refused to a second writer with exit 5), the journal through `tx`, the commit with the edit's
 * message, dry runs and `--no-commit`, and the "saved but not committed" path. Also a source check that no
 * service takes the lock or commits by itself.
 */
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {DatasetBusyError, ExitCode} from '../../src/errors.js'
import {GitError} from '../../src/adapters/git.js'
import {initDataset} from '../../src/services/init.js'
import {applyCaptionEdits} from '../../src/store/caption-files.js'
import {type Dataset, openDataset} from '../../src/store/dataset.js'
import {JOURNAL_FILE} from '../../src/store/journal.js'
import {LOCK_FILE} from '../../src/store/lock.js'
import {
  NotCommittedError,
  prepareWrite,
  withWriteTransaction,
  type WriteTransaction,
} from '../../src/store/transaction.js'
import {copyFixtures, GOOD_FIXTURES, makeTemp, removeTemp, ROOT} from '../helpers.js'

/** Who commits, and none of the machine's git configuration: for lora (through process.env) and our own git calls. */
const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Unit Author',
  GIT_AUTHOR_EMAIL: 'unit.author@example.com',
  GIT_COMMITTER_NAME: 'Unit Committer',
  GIT_COMMITTER_EMAIL: 'unit.committer@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
}
const savedEnv = new Map<string, string | undefined>()

let temp: string
/** A dataset of three images with history on (`init --git`): made once, copied for each test. */
let template: string
let root: string

beforeAll(async () => {
  for (const [key, value] of Object.entries(GIT_ENV)) {
    savedEnv.set(key, process.env[key])
    process.env[key] = value
  }
  temp = await makeTemp('lora-transaction-')
  template = join(temp, 'template')
  await copyFixtures(template, GOOD_FIXTURES.slice(0, 3))
  await initDataset({dir: template, mode: 'move', recursive: false, strict: false, verify: false, git: {lfs: false}})
}, 60_000)

afterAll(async () => {
  for (const [key, value] of savedEnv) {
    if (value === undefined) delete process.env[key]
    else process.env[key] = value
  }
  await removeTemp(temp)
})

let copies = 0
beforeEach(async () => {
  root = join(temp, `ds-${++copies}`)
  await fsp.cp(template, root, {recursive: true})
})

function git(args: string[]): string {
  return execFileSync('git', args, {
    cwd: root,
    env: {...process.env, ...GIT_ENV},
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}
const head = (): string => git(['rev-parse', 'HEAD']).trim()
const subject = (): string => git(['log', '-1', '--format=%s']).trim()
const porcelain = (): string => git(['status', '--porcelain', '--untracked-files=all'])
const lockPath = (): string => join(root, '.lora-tagger', LOCK_FILE)
const captionOf = (id: string): string => fs.readFileSync(join(root, 'output', `${id}.txt`), 'utf8')

/** Adds `tag` to img_0001's caption through `tx` (applyCaptionEdits, one journaled change). */
async function addTag(tx: WriteTransaction, tag: string) {
  const state = await tx.dataset.loadState()
  const [result] = await applyCaptionEdits(
    tx,
    state,
    [{image: state.images[0], apply: (tags) => ({tags: [...tags, tag]})}],
    {kind: 'tag'},
  )
  return {
    result,
    message: result.changed ? {subject: `tag img_0001: +${tag}`, kind: 'tag', images: ['img_0001']} : undefined,
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection, but it resolved')
    },
    (error: unknown) => error,
  )
}

async function dataset(): Promise<Dataset> {
  return openDataset(root)
}

describe('withWriteTransaction', () => {
  it('journals the edit through tx, commits it with the message the edit returns, and releases the lock', async () => {
    const start = head()
    let heldDuringEdit = false
    const done = await withWriteTransaction(await dataset(), {command: 'lora tag'}, async (tx) => {
      heldDuringEdit = fs.existsSync(lockPath())
      expect(tx.repo).toBeDefined()
      return addTag(tx, 'red hair')
    })
    expect(heldDuringEdit).toBe(true)
    expect(done.result.after).toEqual(['red hair'])
    expect(captionOf('img_0001')).toBe('red hair\n')
    expect(done.commit).toBe(head())
    expect(git(['rev-parse', 'HEAD~1']).trim()).toBe(start)
    expect(subject()).toBe('tag img_0001: +red hair')
    expect(git(['log', '-1', '--format=%(trailers:key=Lora-Change,valueonly)']).trim()).toBe('tag')
    expect(porcelain()).toBe('')
    expect(fs.existsSync(lockPath())).toBe(false)
    expect(fs.existsSync(join(root, '.lora-tagger', JOURNAL_FILE))).toBe(false)
  })

  it('an edit returning no message commits nothing', async () => {
    const start = head()
    const done = await withWriteTransaction(await dataset(), {command: 'lora tag'}, async () => ({result: 42}))
    expect(done).toEqual({result: 42, commit: undefined})
    expect(head()).toBe(start)
  })

  it('releases the lock after a throwing edit, commits nothing, and throws the edit’s error', async () => {
    const start = head()
    const error = await rejection(
      withWriteTransaction(await dataset(), {command: 'lora tag'}, async (tx) => {
        await addTag(tx, 'half done')
        throw new Error('boom')
      }),
    )
    expect((error as Error).message).toBe('boom')
    expect(fs.existsSync(lockPath())).toBe(false)
    expect(head()).toBe(start)
    // What the edit journaled before it threw is complete (and not committed); the next writer gets the lock.
    expect(captionOf('img_0001')).toBe('half done\n')
    const next = await withWriteTransaction(await dataset(), {command: 'lora tag'}, (tx) => addTag(tx, 'after'))
    expect(next.commit).toBe(head())
    expect(porcelain()).toBe('')
  })

  it('a dry run writes nothing and commits nothing, and does not need git to be ready', async () => {
    const before = captionOf('img_0001')
    const stateBefore = fs.readFileSync(join(root, '.lora-tagger', 'state.json'), 'utf8')
    const start = head()
    // A merge in progress would refuse a real change; a dry run does not commit, so it is not checked.
    await fsp.writeFile(join(root, '.git', 'MERGE_HEAD'), `${start}\n`)
    const done = await withWriteTransaction(await dataset(), {command: 'lora tag', dryRun: true}, async (tx) => {
      expect(tx.dryRun).toBe(true)
      expect(tx.repo).toBeUndefined()
      const edit = await addTag(tx, 'would add')
      await tx.journal('tag', [{op: 'write', path: 'output/img_0002.txt', text: 'journal write\n'}])
      return edit
    })
    expect(done.result.after).toEqual(['would add'])
    expect(done.result.changed).toBe(true)
    expect(done.commit).toBeUndefined()
    expect(captionOf('img_0001')).toBe(before)
    expect(captionOf('img_0002')).toBe('')
    expect(fs.readFileSync(join(root, '.lora-tagger', 'state.json'), 'utf8')).toBe(stateBefore)
    expect(head()).toBe(start)
    expect(fs.existsSync(lockPath())).toBe(false)
  })

  it('`commit: false` (--no-commit) writes the change and commits nothing', async () => {
    const start = head()
    const done = await withWriteTransaction(await dataset(), {command: 'lora tag', commit: false}, (tx) =>
      addTag(tx, 'x'),
    )
    expect(done.commit).toBeUndefined()
    expect(captionOf('img_0001')).toBe('x\n')
    expect(head()).toBe(start)
    expect(porcelain()).toMatch(/output\/img_0001\.txt/u)
  })

  it('checks that it can commit before any change: with a merge in progress the edit never runs and nothing is locked', async () => {
    await fsp.writeFile(join(root, '.git', 'MERGE_HEAD'), `${head()}\n`)
    let ran = false
    const error = await rejection(
      withWriteTransaction(await dataset(), {command: 'lora tag'}, async (tx) => {
        ran = true
        return addTag(tx, 'x')
      }),
    )
    expect(error).toBeInstanceOf(GitError)
    expect((error as Error).message).toMatch(/middle of a merge; nothing was changed/u)
    expect(ran).toBe(false)
    expect(captionOf('img_0001')).toBe('')
    expect(fs.existsSync(lockPath())).toBe(false)
    // history: 'none' (local files only) does not check git.
    const local = await withWriteTransaction(
      await dataset(),
      {command: 'lora tags import', history: 'none'},
      async (tx) => ({result: tx.repo}),
    )
    expect(local.result).toBeUndefined()
  })

  it('a failed commit reports "saved but not committed" (exit 1): the change stays saved, the lock is released', async () => {
    const start = head()
    const error = await rejection(
      withWriteTransaction(await dataset(), {command: 'lora tag'}, async (tx) => {
        const edit = await addTag(tx, 'saved')
        // Another git process starts between the check and the commit.
        await fsp.writeFile(join(root, '.git', 'index.lock'), '')
        return edit
      }),
    )
    expect(error).toBeInstanceOf(NotCommittedError)
    expect((error as NotCommittedError).exitCode).toBe(ExitCode.error)
    expect((error as Error).message).toMatch(
      /^Saved, but not committed: git failed to stage the dataset files: .*index\.lock/u,
    )
    expect((error as NotCommittedError).hint).toMatch(/only its commit is missing/u)
    expect(captionOf('img_0001')).toBe('saved\n')
    expect(head()).toBe(start)
    expect(fs.existsSync(lockPath())).toBe(false)
    // Once git is free again, the next committed change takes the saved one in with it.
    await fsp.rm(join(root, '.git', 'index.lock'))
    await withWriteTransaction(await dataset(), {command: 'lora tag'}, async (tx) => {
      const state = await tx.dataset.loadState()
      const [result] = await applyCaptionEdits(tx, state, [{image: state.images[1], apply: () => ({tags: ['next']})}], {
        kind: 'tag',
      })
      return {result, message: {subject: 'tag img_0002: +next', kind: 'tag', images: ['img_0002']}}
    })
    expect(git(['show', 'HEAD:output/img_0001.txt'])).toBe('saved\n')
    expect(porcelain()).toBe('')
  })

  it('a second writer gets DatasetBusyError (exit 5) naming the holder while the lock is held; with waitForLockMs it waits', async () => {
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    let entered!: () => void
    const inside = new Promise<void>((resolve) => (entered = resolve))
    const first = withWriteTransaction(await dataset(), {command: 'lora tags rename'}, async (tx) => {
      entered()
      await gate
      return addTag(tx, 'first')
    })
    await inside
    let ran = false
    const error = await rejection(
      withWriteTransaction(await dataset(), {command: 'lora tag'}, async () => {
        ran = true
        return {result: undefined}
      }),
    )
    expect(error).toBeInstanceOf(DatasetBusyError)
    expect((error as DatasetBusyError).exitCode).toBe(ExitCode.busy)
    expect((error as Error).message).toMatch(/lora tags rename \(pid \d+/u)
    expect(ran).toBe(false)
    // A waiting writer (lora next's save) gets the lock once the first is done.
    const waiting = withWriteTransaction(await dataset(), {command: 'lora next', waitForLockMs: 5000}, (tx) =>
      addTag(tx, 'second'),
    )
    setTimeout(open, 300)
    const [a, b] = await Promise.all([first, waiting])
    expect(a.commit).toBeDefined()
    expect(b.commit).toBe(head())
    expect(captionOf('img_0001')).toBe('first, second\n')
    expect(fs.existsSync(lockPath())).toBe(false)
  })

  it('finishes an interrupted change before the edit runs', async () => {
    const ds = await dataset()
    const journal = {
      version: 1,
      kind: 'tag',
      createdAt: '2024-01-01T00:00:00.000Z',
      ops: [{op: 'write', path: 'output/img_0003.txt', text: 'recovered\n'}],
    }
    await fsp.writeFile(join(root, '.lora-tagger', JOURNAL_FILE), JSON.stringify(journal))
    const seen = await withWriteTransaction(ds, {command: 'lora tag', commit: false}, async () => ({
      result: captionOf('img_0003'),
    }))
    expect(seen.result).toBe('recovered\n')
    expect(fs.existsSync(join(root, '.lora-tagger', JOURNAL_FILE))).toBe(false)
  })

  it('a prepared write checks once and runs several transactions (lora next: check before the prompt)', async () => {
    const write = await prepareWrite(await dataset(), {command: 'lora next'})
    const one = await write.run((tx) => addTag(tx, 'one'))
    const two = await write.run((tx) => addTag(tx, 'two'))
    expect(one.commit).toBe(git(['rev-parse', 'HEAD~1']).trim())
    expect(two.commit).toBe(head())
  })
})

describe('services', () => {
  it('no service takes the lock, runs a journal or commits by itself: they go through the transaction', async () => {
    const dir = join(ROOT, 'src', 'services')
    const files = (await fsp.readdir(dir, {recursive: true})).filter((f) => f.endsWith('.ts'))
    expect(files.length).toBeGreaterThan(5)
    const offenders: string[] = []
    for (const file of files) {
      const text = await fsp.readFile(join(dir, file), 'utf8')
      for (const pattern of [
        /\.lock\(/u,
        /acquireLock/u,
        /runJournal/u,
        /commitChange/u,
        /\['commit',/u,
        /recoverJournal/u,
      ]) {
        if (pattern.test(text)) offenders.push(`${file}: ${pattern.source}`)
      }
    }
    expect(offenders).toEqual([])
  })
})
