/**
 * Dataset history in git (issue 4), in-process: `lora init --git`, `lora git enable`, one commit per change (by
 * pathspec, with `Lora-Change`/`Lora-Images` trailers), `--no-commit`, `lora log`, `lora blame`, `lora undo`,
 * `lora status`, and the refusals (index.lock held, merge in progress, no git, no git-lfs) that must change
 * nothing. The commands run inside the test process on the built dist/ (test/in-process.ts, build first), with the
 * real `git` on real repositories in temp folders; no mocks. What needs a process (`lora next` in a
 * pseudo-terminal, a smoke run of the binary) is in test/e2e/git.test.ts.
 *
 * The tests run one after another: an in-process run sets the working folder and the environment (PATH, the git
 * identity) of the whole test process while it runs, so two must not overlap.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {parse as parseYaml} from 'yaml'
import {
  cleanupTemps,
  cloneDataset,
  copyFixtures,
  GOOD_FIXTURES,
  readState,
  readText,
  type RunResult,
  snapshot,
  stateCaptionProblems,
  tempDir,
} from '../e2e/e2e-helpers.js'
import {
  ARROW,
  DASH,
  HAND,
  MINUS,
  commitCount,
  git,
  gitRaw,
  globalHooks,
  head,
  lazy,
  message,
  porcelain,
  subject,
  touched,
  gitLora,
  gitLoraJson,
  gitLoraOk,
  workTreeSnapshot,
} from '../git-helpers.js'

/** Three fixture images: img_0001..img_0003 (all jpg), in this order. */
const THREE = GOOD_FIXTURES.slice(0, 3)

afterAll(cleanupTemps)

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const run = gitLora
const ok = gitLoraOk
const json = gitLoraJson

/** Everything that would show a change: the working files, HEAD, and what git sees as changed or staged. */
async function repoSnapshot(dir: string): Promise<{files: Record<string, string>; head: string; status: string}> {
  return {files: await workTreeSnapshot(dir), head: await head(dir), status: await porcelain(dir)}
}

const caption = (ds: string, id: string): Promise<string> => readText(join(ds, 'output', `${id}.txt`))
const writeCaption = (ds: string, id: string, text: string): Promise<void> =>
  fsp.writeFile(join(ds, 'output', `${id}.txt`), text)

/**
 * The shared starting point: `lora init --git --move` on three fixture images (so the folder holds nothing but
 * the dataset and its repository). Tests clone it; nobody writes to it.
 */
const template = lazy(async () => {
  const dir = join(await tempDir('lora-git-tpl-'), 'imgs')
  await copyFixtures(dir, THREE)
  await ok(['init', '.', '--git', '--move'], dir)
  return dir
})

/** A fresh copy of the template dataset, with its repository. */
/**
 * A `git` first on PATH that writes down each call (`calls`: one line per call, the bytes it printed on stdout, then
 * the first line of its arguments) and passes its output on.
 */
async function countingGit(): Promise<{calls: string; env: NodeJS.ProcessEnv}> {
  const bin = await tempDir('lora-git-count-')
  const calls = join(bin, 'calls.log')
  const real = (await fsp.readdir('/usr/bin')).includes('git') ? '/usr/bin/git' : 'git'
  await fsp.writeFile(
    join(bin, 'git'),
    [
      '#!/bin/sh',
      'out=$(mktemp)',
      `${real} "$@" > "$out"`,
      'rc=$?',
      'cat "$out"',
      `printf '%s %s\\n' "$(wc -c < "$out")" "$(printf '%s' "$*" | head -n 1)" >> '${calls}'`,
      'rm -f "$out"',
      'exit $rc',
      '',
    ].join('\n'),
    {mode: 0o755},
  )
  return {calls, env: {PATH: `${bin}:${process.env.PATH ?? ''}`}}
}

async function fresh(): Promise<string> {
  return cloneDataset(await template())
}

/** A folder holding only a `node` symlink: PATH for a machine without git. */
const nodeOnlyPath = lazy(async () => {
  const dir = await tempDir('lora-git-nogit-')
  await fsp.symlink(process.execPath, join(dir, 'node'))
  return dir
})

function expectRefusal(r: RunResult, pattern: RegExp): void {
  expect(r.code).not.toBe(0)
  expect(r.code).not.toBeNull()
  expect(r.stderr).toMatch(pattern)
  expect(r.stderr).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)/u) // a message, not a stack trace
}

// ---------------------------------------------------------------------------------------------------------------

describe('lora init --git', () => {
  it('creates a repository in the dataset folder and commits the dataset as `lora: init — N images`', async () => {
    const dir = join(await tempDir('lora-git-init-'), 'imgs')
    await copyFixtures(dir, GOOD_FIXTURES.slice(0, 4))
    const summary = await json(['init', '.', '--git', '--move'], dir)

    // The repository is the dataset folder itself.
    expect(fs.existsSync(join(dir, '.git'))).toBe(true)
    expect((await git(dir, ['rev-parse', '--show-toplevel'])).trim()).toBe(dir)
    expect(summary.git).toMatchObject({repository: dir, created: true})
    expect(summary.git.lfs).toBeFalsy()

    // Exactly one commit, with the subject and trailers.
    expect(await commitCount(dir)).toBe(1)
    expect(summary.commit).toBe(await head(dir))
    expect(await message(dir)).toBe(
      `lora: init ${DASH} 4 images\n\nLora-Change: init\nLora-Images: img_0001 img_0002 img_0003 img_0004\n`,
    )
    expect((await git(dir, ['log', '-1', '--format=%an <%ae>'])).trim()).toBe('Lora Tester <lora.tester@example.com>')

    // What is committed: the output folder and .lora-tagger/ less its local files.
    expect((await git(dir, ['ls-files'])).split('\n').filter(Boolean).sort()).toEqual(
      [
        '.lora-tagger/.gitignore',
        '.lora-tagger/config.yaml',
        '.lora-tagger/state.json',
        'output/.gitattributes',
        'output/.gitignore',
        'output/img_0001.jpg',
        'output/img_0001.txt',
        'output/img_0002.jpg',
        'output/img_0002.txt',
        'output/img_0003.jpg',
        'output/img_0003.txt',
        'output/img_0004.png',
        'output/img_0004.txt',
        'output/tags.txt',
      ].sort(),
    )

    // .lora-tagger/.gitignore keeps the local files out.
    const local = [
      '.lora-tagger/lock',
      '.lora-tagger/journal.json',
      '.lora-tagger/session.json',
      '.lora-tagger/cache/index.json',
    ]
    const shared = ['.lora-tagger/state.json', '.lora-tagger/config.yaml', 'output/img_0001.txt', 'output/tags.txt']
    const ignored = await gitRaw(dir, ['check-ignore', '--no-index', ...local, ...shared])
    expect(ignored.stdout.split('\n').filter(Boolean).sort()).toEqual([...local].sort())
    const gitignore = await readText(join(dir, '.lora-tagger', '.gitignore'))
    for (const line of ['lock', 'journal.json', 'session.json', 'cache/']) expect(gitignore.split('\n')).toContain(line)

    // output/.gitattributes: images binary (no text diff, no merge), captions and tags.txt text with a diff.
    const attrs = await git(dir, [
      'check-attr',
      'binary',
      'text',
      'diff',
      '--',
      'output/img_0001.jpg',
      'output/img_0004.png',
      'output/img_0009.gif',
      'output/img_0009.webp',
      'output/img_0001.txt',
      'output/tags.txt',
    ])
    const attr = (path: string, name: string): string =>
      new RegExp(`^${path.replace(/\./gu, '\\.')}: ${name}: (.*)$`, 'mu').exec(attrs)?.[1] ?? 'missing'
    for (const image of ['output/img_0001.jpg', 'output/img_0004.png', 'output/img_0009.gif', 'output/img_0009.webp']) {
      expect([image, attr(image, 'binary'), attr(image, 'text'), attr(image, 'diff')]).toEqual([
        image,
        'set',
        'unset',
        'unset',
      ])
    }
    for (const text of ['output/img_0001.txt', 'output/tags.txt']) {
      expect([text, attr(text, 'binary'), attr(text, 'text'), attr(text, 'diff')]).toEqual([
        text,
        'unspecified',
        'set',
        'set',
      ])
    }

    // config: git.autoCommit true.
    const config = parseYaml(await readText(join(dir, '.lora-tagger', 'config.yaml')))
    expect(config.git).toEqual({autoCommit: true})

    // Nothing left uncommitted.
    expect(await porcelain(dir)).toBe('')
  })

  it('copy mode: the originals beside the dataset stay untracked; only the dataset is committed', async () => {
    const dir = join(await tempDir('lora-git-copy-'), 'imgs')
    await copyFixtures(dir, THREE)
    await ok(['init', '.', '--git'], dir)
    expect(await subject(dir)).toBe(`lora: init ${DASH} 3 images`)
    expect((await porcelain(dir)).split('\n').filter(Boolean).sort()).toEqual(THREE.map((n) => `?? ${n}`).sort())
    for (const path of await touched(dir)) expect(path).toMatch(/^(output|\.lora-tagger)\//u)
  })

  it('a later `lora init` that adds images is one commit naming the new images', async () => {
    const ds = await fresh()
    const before = await commitCount(ds)
    await copyFixtures(ds, ['skimage-horse.png'])
    const summary = await json(['init', '.', '--move'], ds)
    expect(summary.added.map((a: {id: string}) => a.id)).toEqual(['img_0004'])
    expect(await commitCount(ds)).toBe(before + 1)
    expect(summary.commit).toBe(await head(ds))
    expect((await git(ds, ['log', '-1', '--format=%(trailers:key=Lora-Change,valueonly)'])).trim()).toBe('init')
    expect((await git(ds, ['log', '-1', '--format=%(trailers:key=Lora-Images,valueonly)'])).trim()).toBe('img_0004')
    expect(await touched(ds)).toEqual(['.lora-tagger/state.json', 'output/img_0004.png', 'output/img_0004.txt'])
    expect(await porcelain(ds)).toBe('')

    // A rerun that adds nothing makes no commit.
    await ok(['init', '.'], ds)
    expect(await commitCount(ds)).toBe(before + 1)
  })

  it('a dataset inside a bigger repository: commits only its own paths, and the user’s staged file stays staged', async () => {
    const top = await tempDir('lora-git-parent-')
    await git(top, ['init', '--quiet'])
    await fsp.writeFile(join(top, 'notes.txt'), 'unrelated work in progress\n')
    await git(top, ['add', 'notes.txt'])
    const ds = join(top, 'sub', 'imgs')
    await copyFixtures(ds, ['skimage-horse.png', 'skimage-page.png'])

    const summary = await json(['init', 'sub/imgs', '--git'], top)
    expect(summary.git).toMatchObject({repository: top, created: false})
    expect(fs.existsSync(join(ds, '.git'))).toBe(false)
    expect(await subject(top)).toBe(`lora: init ${DASH} 2 images`)
    await ok(['tag', '1', '--add', 'horse'], ds)
    expect(await subject(top)).toBe('tag img_0001: +horse')
    await ok(['tags', 'rename', 'horse', 'a horse'], ds)
    expect(await subject(top)).toBe(`tags rename "horse" ${ARROW} "a horse" in 1 caption`)

    // notes.txt: still staged, still uncommitted, in no commit.
    expect((await git(top, ['diff', '--cached', '--name-only'])).split('\n').filter(Boolean)).toEqual(['notes.txt'])
    expect(await git(top, ['log', '--all', '--format=%H', '--', 'notes.txt'])).toBe('')
    expect(await git(top, ['show', ':notes.txt'])).toBe('unrelated work in progress\n')

    // Every lora commit touches only the dataset's own paths; the originals were never committed.
    const commits = (await git(top, ['rev-list', 'HEAD'])).split('\n').filter(Boolean)
    expect(commits).toHaveLength(3)
    for (const c of commits) {
      const paths = await touched(top, c)
      expect(paths.length).toBeGreaterThan(0)
      for (const p of paths) expect(p).toMatch(/^sub\/imgs\/(output|\.lora-tagger)\//u)
    }
    expect(
      await git(top, ['log', '--all', '--format=%H', '--', 'sub/imgs/skimage-horse.png', 'sub/imgs/skimage-page.png']),
    ).toBe('')
    const status = (await porcelain(top)).split('\n').filter(Boolean).sort()
    expect(status).toEqual(['?? sub/imgs/skimage-horse.png', '?? sub/imgs/skimage-page.png', 'A  notes.txt'])

    // log and blame work from inside the sub folder, with repository-relative paths mapped back to images.
    const log = await json(['log'], ds)
    expect(log.events.map((e: {id: string; added: string[]; removed: string[]}) => [e.id, e.added, e.removed])).toEqual(
      [
        ['img_0001', ['a horse'], ['horse']],
        ['img_0001', ['horse'], []],
      ],
    )
  })
})

describe('lora git enable', () => {
  it('turns history on for an existing dataset: new repository, ignore/attribute files, autoCommit, one commit', async () => {
    const ds = join(await tempDir('lora-git-enable-'), 'imgs')
    await copyFixtures(ds, THREE)
    await ok(['init', '.', '--trigger', 'ohwx'], ds)
    await ok(['tag', '1', '--add', 'red hair'], ds)
    expect(fs.existsSync(join(ds, '.git'))).toBe(false)
    // History off: status reports git null; undo says what turning history on gives, and what does not come back.
    expect((await json(['status'], ds)).git).toBeNull()
    const noHistory = await run(['undo'], ds)
    expect(noHistory.code).toBe(1)
    expect(noHistory.stderr).toBe(
      `error: ${ds} is not in a git repository, so it has no history.\n` +
        'hint: Turn history on with `lora git enable`: changes made from then on can be undone and blamed (earlier ones cannot; `lora tag IMAGE --set`, `--unskip` change an image back by hand).\n',
    )

    const report = await json(['git', 'enable'], ds)
    expect(report).toMatchObject({repository: ds, created: true})
    expect(report.lfs).toBeFalsy()
    expect(fs.existsSync(join(ds, '.git'))).toBe(true)
    expect(report.commit).toBe(await head(ds))
    expect(await commitCount(ds)).toBe(1)
    expect(await subject(ds)).toMatch(/^lora: .*3 images$/u)
    expect(await git(ds, ['log', '-1', '--format=%(trailers:key=Lora-Images,valueonly)'])).toMatch(
      /^img_0001 img_0002 img_0003\n/u,
    )

    // The existing captions (with the earlier edit) are in the commit.
    expect(await git(ds, ['show', 'HEAD:output/img_0001.txt'])).toBe('ohwx, red hair\n')
    expect(await git(ds, ['show', 'HEAD:output/tags.txt'])).toBe('red hair\n')
    expect(fs.existsSync(join(ds, '.lora-tagger', '.gitignore'))).toBe(true)
    expect(fs.existsSync(join(ds, 'output', '.gitattributes'))).toBe(true)
    const config = parseYaml(await readText(join(ds, '.lora-tagger', 'config.yaml')))
    expect(config).toMatchObject({trigger: 'ohwx', prefix: 'img_', git: {autoCommit: true}})
    // Only the originals (not part of the dataset) are left untracked.
    expect((await porcelain(ds)).split('\n').filter(Boolean).sort()).toEqual(THREE.map((n) => `?? ${n}`).sort())
    expect((await json(['status'], ds)).git).toEqual({uncommitted: []})

    // The commit that turned history on is where undo stops, and it says so (not "imported the images").
    const nothing = await run(['undo'], ds)
    expect(nothing.code).toBe(2)
    expect(nothing.stderr).toMatch(
      /^error: Nothing left to undo: the next older lora change, [0-9a-f]{7} "lora: dataset history on — 3 images", is where this history of the images starts \(their import, or history turned on\)/u,
    )

    // From now on each change is a commit.
    await ok(['tag', '2', '--add', 'smile'], ds)
    expect(await commitCount(ds)).toBe(2)
    expect(await subject(ds)).toBe('tag img_0002: +smile')
  })
})

describe('--lfs', () => {
  const lfsInstalled = lazy(async () => (await gitRaw(process.cwd(), ['lfs', 'version'])).code === 0)

  it('`init --git --lfs`: without git-lfs a clear error and nothing created; with it, images tracked by LFS', async () => {
    const dir = join(await tempDir('lora-git-lfs-'), 'imgs')
    await copyFixtures(dir, THREE)
    if (await lfsInstalled()) {
      await ok(['init', '.', '--git', '--lfs'], dir)
      const lfsFiles = (await git(dir, ['lfs', 'ls-files', '--name-only'])).split('\n').filter(Boolean).sort()
      expect(lfsFiles).toEqual(['output/img_0001.jpg', 'output/img_0002.jpg', 'output/img_0003.jpg'])
      expect(await readText(join(dir, 'output', '.gitattributes'))).toMatch(
        /^\*\.jpg filter=lfs diff=lfs merge=lfs -text$/mu,
      )
      return
    }
    const before = await snapshot(dir)
    const r = await run(['init', '.', '--git', '--lfs'], dir)
    expectRefusal(r, /git-lfs/u)
    expect(r.stderr).toMatch(/not installed/u)
    // Nothing created: no repository, no dataset folders, the images as they were.
    expect(await snapshot(dir)).toEqual(before)
  })

  it('`git enable --lfs` without git-lfs: a clear error and the dataset unchanged', async () => {
    if (await lfsInstalled()) {
      process.stderr.write(
        'SKIP git enable --lfs refusal: git-lfs is installed (the init --lfs test checks LFS tracking)\n',
      )
      return
    }
    const ds = join(await tempDir('lora-git-lfs-enable-'), 'imgs')
    await copyFixtures(ds, THREE)
    await ok(['init', '.'], ds)
    const before = await snapshot(ds)
    const r = await run(['git', 'enable', '--lfs'], ds)
    expectRefusal(r, /git-lfs/u)
    expect(await snapshot(ds)).toEqual(before)
  })
})

describe('one commit per change', () => {
  it('`lora tag`: one commit, `tag img_0001: +red hair +smile −hat`, trailers, only dataset files', async () => {
    const ds = await fresh()
    await ok(['tag', '1', '--add', 'hat'], ds)
    const before = await commitCount(ds)
    const report = await json(['tag', '1', '--add', 'red hair,smile', '--remove', 'hat'], ds)
    expect(await commitCount(ds)).toBe(before + 1)
    expect(report.commit).toBe(await head(ds))
    expect(await message(ds)).toBe(
      `tag img_0001: +red hair +smile ${MINUS}hat\n\nLora-Change: tag\nLora-Images: img_0001\n`,
    )
    expect(await touched(ds)).toEqual(['.lora-tagger/state.json', 'output/img_0001.txt', 'output/tags.txt'])
    expect(await git(ds, ['show', 'HEAD:output/img_0001.txt'])).toBe('red hair, smile\n')
    expect(await porcelain(ds)).toBe('')
  })

  it('`lora tag` on several images: one commit listing every image', async () => {
    const ds = await fresh()
    const before = await commitCount(ds)
    await ok(['tag', '2', '3', '--add', 'solo'], ds)
    expect(await commitCount(ds)).toBe(before + 1)
    expect(await message(ds)).toBe('tag 2 images: +solo\n\nLora-Change: tag\nLora-Images: img_0002 img_0003\n')
    expect(await porcelain(ds)).toBe('')
    // A run that changes nothing makes no commit.
    await ok(['tag', '2', '3', '--add', 'solo'], ds)
    expect(await commitCount(ds)).toBe(before + 1)
  })

  it('`lora tags rename longhair "long hair"`: `tags rename "longhair" → "long hair" in N captions`', async () => {
    const ds = await fresh()
    await ok(['tag', '1', '3', '--add', 'longhair'], ds)
    const before = await commitCount(ds)
    await ok(['tags', 'rename', 'longhair', 'long hair'], ds)
    expect(await commitCount(ds)).toBe(before + 1)
    expect(await message(ds)).toBe(
      `tags rename "longhair" ${ARROW} "long hair" in 2 captions\n\nLora-Change: tags rename\nLora-Images: img_0001 img_0003\n`,
    )
    expect(await touched(ds)).toEqual([
      '.lora-tagger/state.json',
      'output/img_0001.txt',
      'output/img_0003.txt',
      'output/tags.txt',
    ])
    expect(await porcelain(ds)).toBe('')
  })

  it("a change's commit takes only the dataset's own files: an image deleted or replaced by hand and a file of yours stay out", async () => {
    const ds = await fresh()
    const out = join(ds, 'output')
    const replaced = await fsp.readFile(join(out, 'img_0003.jpg'))
    await fsp.rm(join(out, 'img_0002.jpg'))
    await fsp.copyFile(join(out, 'img_0001.jpg'), join(out, 'img_0003.jpg'))
    await fsp.writeFile(join(out, 'notes.md'), 'mine\n')
    await ok(['tag', '1', '--add', 'astronaut'], ds)
    expect(await touched(ds)).toEqual(['.lora-tagger/state.json', 'output/img_0001.txt', 'output/tags.txt'])
    expect((await porcelain(ds)).split('\n').filter(Boolean).sort()).toEqual([
      ' D output/img_0002.jpg',
      ' M output/img_0003.jpg',
      '?? output/notes.md',
    ])
    // What lora status advises works: git restores the files; the change can be undone.
    await git(ds, ['checkout', '--', 'output/img_0002.jpg', 'output/img_0003.jpg'])
    expect(await fsp.readFile(join(out, 'img_0003.jpg'))).toEqual(replaced)
    expect((await json(['undo'], ds)).images).toEqual(['img_0001'])
    // A replaced image that lora status --rescan takes in is committed with the rescan.
    await fsp.copyFile(join(out, 'img_0001.jpg'), join(out, 'img_0003.jpg'))
    await ok(['status', '--rescan'], ds)
    expect(await touched(ds)).toEqual(['.lora-tagger/state.json', 'output/img_0003.jpg'])
    expect(await porcelain(ds)).toBe('?? output/notes.md\n')
  })

  it('`--no-commit`: the change is written but not committed (tag, tags rename, init)', async () => {
    const ds = await fresh()
    const start = await head(ds)
    await ok(['tag', '1', '--add', 'x', '--no-commit'], ds)
    expect(await caption(ds, 'img_0001')).toBe('x\n')
    expect(await head(ds)).toBe(start)
    await ok(['tags', 'rename', 'x', 'y', '--no-commit'], ds)
    expect(await caption(ds, 'img_0001')).toBe('y\n')
    expect(await head(ds)).toBe(start)
    await copyFixtures(ds, ['skimage-horse.png'])
    await ok(['init', '.', '--move', '--no-commit'], ds)
    expect(fs.existsSync(join(ds, 'output', 'img_0004.png'))).toBe(true)
    expect(await head(ds)).toBe(start)
    expect((await porcelain(ds)).split('\n').filter(Boolean).sort()).toEqual([
      ' M .lora-tagger/state.json',
      ' M output/img_0001.txt',
      ' M output/tags.txt',
      '?? output/img_0004.png',
      '?? output/img_0004.txt',
    ])
    // The config still has history on: --no-commit is per run.
    expect(parseYaml(await readText(join(ds, '.lora-tagger', 'config.yaml'))).git).toEqual({autoCommit: true})
  })
})

// ---------------------------------------------------------------------------------------------------------------
// log, blame, status on one history that includes a commit made by hand

interface History {
  ds: string
  c1: string
  c2: string
  hand: string
  c4: string
  c5: string
}

/**
 * c1 `lora tag 1 +red hair +smile`; c2 `lora tag 2 3 +longhair`; hand: `git commit` by Hand Editor of img_0001
 * (+hat −smile); c4 `lora tags rename longhair "long hair"`; c5 `lora tag 1 +blush`; then img_0002's caption
 * edited by hand and left uncommitted (+wet).
 */
const history = lazy(async (): Promise<History> => {
  const ds = await fresh()
  await ok(['tag', '1', '--add', 'red hair,smile'], ds)
  const c1 = await head(ds)
  await ok(['tag', '2', '3', '--add', 'longhair'], ds)
  const c2 = await head(ds)
  await writeCaption(ds, 'img_0001', 'red hair, hat\n')
  await git(ds, ['commit', '--quiet', '-m', 'hand edit: hat instead of smile', '--', 'output/img_0001.txt'], HAND)
  const hand = await head(ds)
  await ok(['tags', 'rename', 'longhair', 'long hair'], ds)
  const c4 = await head(ds)
  await ok(['tag', '1', '--add', 'blush'], ds)
  const c5 = await head(ds)
  await writeCaption(ds, 'img_0002', 'long hair, wet\n')
  return {ds, c1, c2, hand, c4, c5}
})

interface Event {
  commit: string
  date: string
  author: string
  subject: string
  id: string
  added: string[]
  removed: string[]
  tooLarge?: {path: string; size: number}
}

const brief = (events: Event[]): [string, string, string[], string[]][] =>
  events.map((e) => [e.commit, e.id, e.added, e.removed])

describe('lora log', () => {
  it('tag-level history, newest first, including the hand commit with its author', async () => {
    const h = await history()
    const {events} = await json<{events: Event[]}>(['log'], h.ds)
    expect(brief(events)).toEqual([
      [h.c5, 'img_0001', ['blush'], []],
      [h.c4, 'img_0002', ['long hair'], ['longhair']],
      [h.c4, 'img_0003', ['long hair'], ['longhair']],
      [h.hand, 'img_0001', ['hat'], ['smile']],
      [h.c2, 'img_0002', ['longhair'], []],
      [h.c2, 'img_0003', ['longhair'], []],
      [h.c1, 'img_0001', ['red hair', 'smile'], []],
    ])
    const handEvent = events.find((e) => e.commit === h.hand)!
    expect(handEvent).toMatchObject({author: 'Hand Editor', subject: 'hand edit: hat instead of smile'})
    expect(events.filter((e) => e.commit !== h.hand).every((e) => e.author === 'Lora Tester')).toBe(true)

    // The human form: short hash, date, author, image, +added −removed.
    const text = (await ok(['log'], h.ds)).stdout
    const lines = text.split('\n').filter(Boolean)
    expect(lines).toHaveLength(7)
    const date = handEvent.date.slice(0, 10)
    expect(lines[3]).toMatch(
      new RegExp(`^${h.hand.slice(0, 7)} ${date} Hand Editor\\s+img_0001\\s+\\+hat ${MINUS}smile$`, 'u'),
    )
    expect(lines[0]).toMatch(
      new RegExp(`^${h.c5.slice(0, 7)} \\d{4}-\\d\\d-\\d\\d Lora Tester\\s+img_0001\\s+\\+blush$`, 'u'),
    )
    expect(lines[1]).toMatch(new RegExp(`^${h.c4.slice(0, 7)} .*img_0002\\s+\\+long hair ${MINUS}longhair$`, 'u'))
  })

  it('status reads the captions with one `git status`, and every git it runs prints (simple-git waits 50 ms after a silent one)', async () => {
    const ds = await fresh()
    await writeCaption(ds, 'img_0003', 'edited\n')
    const {calls, env} = await countingGit()
    const subcommand = (line: string): string | undefined =>
      line
        .split(' ')
        .slice(1)
        .find((w) => !w.startsWith('-') && !w.includes('='))
    for (const expected of [['img_0003.txt'], []]) {
      await fsp.writeFile(calls, '')
      expect((await json<{git: {uncommitted: string[]}}>(['status'], ds, env)).git).toEqual({uncommitted: expected})
      const lines = (await readText(calls)).split('\n').filter(Boolean)
      expect(lines.map(subcommand).filter((c) => c === 'status' || c === 'ls-files')).toEqual(['status'])
      for (const line of lines) expect(Number(line.split(' ')[0])).toBeGreaterThan(0)
      await ok(['status', '--rescan'], ds)
    }
  })

  it('undo reads both versions of every caption it changes, of state.json and of tags.txt with one git process (`cat-file --batch`), whatever their number', async () => {
    const ds = await fresh()
    await ok(['tag', '--all', '--add', 'bulk tag'], ds)
    await writeCaption(ds, 'img_0002', '')
    await ok(['status', '--rescan'], ds)
    await ok(['tag', '--all', '--add', 'second'], ds)
    const {calls, env} = await countingGit()
    await ok(['undo'], ds, env)
    expect(await caption(ds, 'img_0001')).toBe('bulk tag\n')
    expect(await caption(ds, 'img_0002')).toBe('')
    const lines = (await readText(calls)).split('\n').filter(Boolean)
    // No `git show` per caption (each a process, and 50 ms more when the file is empty: simple-git waits after a
    // silent git): their sizes are checked, then all read at once, with state.json's and tags.txt's two versions.
    expect(lines.filter((l) => / show /u.test(l))).toEqual([])
    expect(lines.filter((l) => / cat-file --batch-check=%\(objectsize\)$/u.test(l))).toHaveLength(1)
    expect(lines.filter((l) => / cat-file --batch$/u.test(l))).toHaveLength(1)
    expect(lines.filter((line) => line.startsWith('0 ') && !/ commit /u.test(line))).toEqual([])
  })

  it('reads the history with one git process (`git log`, run in the dataset folder); none yet is an empty log', async () => {
    const h = await history()
    // A `git` first on PATH that writes down each call, then runs the real one.
    const bin = await tempDir('lora-git-count-')
    const calls = join(bin, 'calls.log')
    const real = (await fsp.readdir('/usr/bin')).includes('git') ? '/usr/bin/git' : 'git'
    await fsp.writeFile(join(bin, 'git'), `#!/bin/sh\necho "$*" >> '${calls}'\nexec ${real} "$@"\n`, {mode: 0o755})
    const env = {PATH: `${bin}:${process.env.PATH ?? ''}`}
    const {events} = await json<{events: Event[]}>(['log', '-n', '5'], h.ds, env)
    expect(events).toHaveLength(5)
    const lines = (await readText(calls)).split('\n').filter(Boolean)
    expect(lines.map((l) => l.split(' ').find((w) => !w.startsWith('-') && !w.includes('=')))).toEqual(['log'])
    // A repository with no commit yet: `git log` fails there, and the log is empty.
    const dir = join(await tempDir('lora-git-nocommit-'), 'imgs')
    await copyFixtures(dir, THREE)
    await ok(['init', '.', '--move'], dir)
    await git(dir, ['init', '--quiet'])
    expect(await json(['log'], dir)).toEqual({events: []})
  })

  it('a caption version of exactly 1 MiB still takes one git process; one of 1 MiB + 1 byte makes log read the history again, sizes first', async () => {
    // A history of its own: the shared one (history()) stays as the other tests expect it.
    const ds = await fresh()
    await ok(['tag', '1', '--add', 'red hair'], ds)
    const bin = await tempDir('lora-git-count-')
    const calls = join(bin, 'calls.log')
    const real = (await fsp.readdir('/usr/bin')).includes('git') ? '/usr/bin/git' : 'git'
    await fsp.writeFile(join(bin, 'git'), `#!/bin/sh\necho "$*" >> '${calls}'\nexec ${real} "$@"\n`, {mode: 0o755})
    const env = {PATH: `${bin}:${process.env.PATH ?? ''}`}
    const commands = async () => {
      const lines = (await readText(calls)).split('\n').filter(Boolean)
      await fsp.rm(calls)
      return lines.map((l) => l.split(' ').find((w) => !w.startsWith('-') && !w.includes('=')))
    }
    const caption = join(ds, 'output', 'img_0001.txt')
    // Many lines, no trailing newline: git adds `\ No newline at end of file`, not counted as the caption's.
    await fsp.writeFile(caption, 'ab,\n'.repeat(2 ** 18 - 1) + 'b,ab')
    await git(ds, ['commit', '--quiet', '-am', 'one MiB'])
    const oneMiB = (await json<{events: Event[]}>(['log', '-n', '1'], ds, env)).events[0]
    expect(oneMiB).toMatchObject({id: 'img_0001', added: ['ab', 'b']})
    expect(oneMiB.tooLarge).toBeUndefined()
    expect(await commands()).toEqual(['log'])
    await fsp.writeFile(caption, 'red hair\n')
    await git(ds, ['commit', '--quiet', '-am', 'small'])
    await fsp.writeFile(caption, 'ab,\n'.repeat(2 ** 18 - 1) + 'b,ab\n')
    await git(ds, ['commit', '--quiet', '-am', 'one MiB and a byte'])
    const events = (await json<{events: Event[]}>(['log', '-n', '2'], ds, env)).events
    expect(events.map((e) => [e.subject, e.added, e.removed, e.tooLarge])).toEqual([
      ['one MiB and a byte', [], [], {path: 'output/img_0001.txt', size: 2 ** 20 + 1}],
      ['small', ['red hair'], ['ab', 'b'], undefined],
    ])
    // The `git log -p` stopped, then cappedLog: `log --raw`, `cat-file --batch-check`, `log -p` without that caption,
    // and a `cat-file blob` for each of its versions within the cap.
    const again = await commands()
    expect(again.slice(0, 4)).toEqual(['log', 'log', 'cat-file', 'log'])
    expect(new Set(again.slice(4))).toEqual(new Set(['cat-file']))
  })

  it('`--json` shape: {events: [{commit, date, author, subject, id, added, removed, statusBefore, status, skipReason}]}', async () => {
    const h = await history()
    const report = await json(['log'], h.ds)
    expect(Object.keys(report)).toEqual(['events'])
    for (const e of report.events) {
      expect(Object.keys(e).sort()).toEqual([
        'added',
        'author',
        'commit',
        'date',
        'id',
        'removed',
        'skipReason',
        'status',
        'statusBefore',
        'subject',
      ])
      // No skip in this history: all null (test/commands/log-init-skips.test.ts has skips).
      expect([e.statusBefore, e.status, e.skipReason]).toEqual([null, null, null])
      expect(e.commit).toMatch(/^[0-9a-f]{40}$/u)
      expect(Number.isNaN(Date.parse(e.date))).toBe(false)
      expect(typeof e.subject).toBe('string')
      expect(Array.isArray(e.added) && Array.isArray(e.removed)).toBe(true)
    }
    expect(report.events[0].subject).toBe('tag img_0001: +blush')
    expect(report.events[1].subject).toBe(`tags rename "longhair" ${ARROW} "long hair" in 2 captions`)
  })

  it('`--tag TAG`: only the changes adding or removing that tag', async () => {
    const h = await history()
    expect(brief((await json(['log', '--tag', 'longhair'], h.ds)).events)).toEqual([
      [h.c4, 'img_0002', ['long hair'], ['longhair']],
      [h.c4, 'img_0003', ['long hair'], ['longhair']],
      [h.c2, 'img_0002', ['longhair'], []],
      [h.c2, 'img_0003', ['longhair'], []],
    ])
    expect(brief((await json(['log', '--tag', 'smile'], h.ds)).events)).toEqual([
      [h.hand, 'img_0001', ['hat'], ['smile']],
      [h.c1, 'img_0001', ['red hair', 'smile'], []],
    ])
    expect((await json(['log', '--tag', 'wet'], h.ds)).events).toEqual([])
    const none = await ok(['log', '--tag', 'never used'], h.ds)
    expect(none.stdout).toBe('')
  })

  it('`log IMAGE`: one image (by number or id)', async () => {
    const h = await history()
    const expected = [
      [h.c5, 'img_0001', ['blush'], []],
      [h.hand, 'img_0001', ['hat'], ['smile']],
      [h.c1, 'img_0001', ['red hair', 'smile'], []],
    ]
    expect(brief((await json(['log', 'img_0001'], h.ds)).events)).toEqual(expected)
    expect(brief((await json(['log', '1'], h.ds)).events)).toEqual(expected)
    expect(brief((await json(['log', '3'], h.ds)).events)).toEqual([
      [h.c4, 'img_0003', ['long hair'], ['longhair']],
      [h.c2, 'img_0003', ['longhair'], []],
    ])
  })

  it('`-n N`: at most N entries, the newest', async () => {
    const h = await history()
    expect(brief((await json(['log', '-n', '2'], h.ds)).events)).toEqual([
      [h.c5, 'img_0001', ['blush'], []],
      [h.c4, 'img_0002', ['long hair'], ['longhair']],
    ])
    expect(brief((await json(['log', 'img_0001', '-n', '1'], h.ds)).events)).toEqual([
      [h.c5, 'img_0001', ['blush'], []],
    ])
    expect((await ok(['log', '-n', '3'], h.ds)).stdout.split('\n').filter(Boolean)).toHaveLength(3)
  })
})

describe('lora blame', () => {
  it('for each tag of the caption, the commit that added it (the hand commit included)', async () => {
    const h = await history()
    expect(await caption(h.ds, 'img_0001')).toBe('red hair, hat, blush\n')
    const report = await json(['blame', 'img_0001'], h.ds)
    expect(report.id).toBe('img_0001')
    expect(
      report.tags.map((t: {tag: string; commit: string; author: string; subject: string}) => [
        t.tag,
        t.commit,
        t.author,
        t.subject,
      ]),
    ).toEqual([
      ['red hair', h.c1, 'Lora Tester', 'tag img_0001: +red hair +smile'],
      ['hat', h.hand, 'Hand Editor', 'hand edit: hat instead of smile'],
      ['blush', h.c5, 'Lora Tester', 'tag img_0001: +blush'],
    ])
    for (const t of report.tags) expect(Number.isNaN(Date.parse(t.date))).toBe(false)

    const lines = (await ok(['blame', '1'], h.ds)).stdout.split('\n').filter(Boolean)
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatch(
      new RegExp(
        `^red hair\\s+${h.c1.slice(0, 7)} \\d{4}-\\d\\d-\\d\\d Lora Tester\\s+tag img_0001: \\+red hair \\+smile$`,
        'u',
      ),
    )
    expect(lines[1]).toMatch(
      new RegExp(
        `^hat\\s+${h.hand.slice(0, 7)} \\d{4}-\\d\\d-\\d\\d Hand Editor\\s+hand edit: hat instead of smile$`,
        'u',
      ),
    )
    expect(lines[2]).toMatch(new RegExp(`^blush\\s+${h.c5.slice(0, 7)} `, 'u'))
  })

  it('a renamed tag is blamed on the rename; an uncommitted tag is `not committed yet` (null in --json)', async () => {
    const h = await history()
    const report = await json(['blame', '2'], h.ds)
    expect(report.tags.map((t: {tag: string; commit: string | null}) => [t.tag, t.commit])).toEqual([
      ['long hair', h.c4],
      ['wet', null],
    ])
    expect(report.tags[1]).toEqual({tag: 'wet', commit: null, date: null, author: null, subject: null})
    const lines = (await ok(['blame', '2'], h.ds)).stdout.split('\n').filter(Boolean)
    expect(lines[0]).toMatch(new RegExp(`^long hair\\s+${h.c4.slice(0, 7)} `, 'u'))
    expect(lines[1]).toMatch(/^wet\s+not committed yet$/u)
  })
})

describe('lora status with history on', () => {
  it('lists caption files with uncommitted changes (a hand edit)', async () => {
    const h = await history()
    const report = await json(['status'], h.ds)
    expect(report.git).toEqual({uncommitted: ['img_0002.txt']})
    const human = await ok(['status'], h.ds)
    expect(human.stdout).toMatch(/changed since the last commit: img_0002\.txt$/mu)
  })

  it('an empty list when everything is committed; edited and new (untracked) captions are listed', async () => {
    const ds = await fresh()
    expect((await json(['status'], ds)).git).toEqual({uncommitted: []})
    expect((await ok(['status'], ds)).stdout).not.toMatch(/img_000\d\.txt/u)
    await writeCaption(ds, 'img_0003', 'edited\n')
    await copyFixtures(ds, ['skimage-horse.png'])
    await ok(['init', '.', '--move', '--no-commit'], ds)
    expect((await json(['status'], ds)).git.uncommitted.sort()).toEqual(['img_0003.txt', 'img_0004.txt'])
  })
})

describe('lora status --rescan with history on', () => {
  it('commits the captions edited outside lora with the state and tags.txt, as `rescan: N captions …`', async () => {
    const ds = await fresh()
    const before = await commitCount(ds)
    await writeCaption(ds, 'img_0002', 'ext one, ext two\n')
    const report = await json(['status', '--rescan'], ds)
    expect(report.rescanned).toEqual(['img_0002'])
    expect(report.git).toEqual({uncommitted: []})
    expect(await commitCount(ds)).toBe(before + 1)
    expect(await subject(ds)).toBe('rescan: 1 caption edited outside lora')
    expect(await message(ds)).toMatch(/^Lora-Change: rescan$/mu)
    expect(await message(ds)).toMatch(/^Lora-Images: img_0002$/mu)
    expect(await touched(ds)).toEqual(['.lora-tagger/state.json', 'output/img_0002.txt', 'output/tags.txt'])
    expect(await porcelain(ds)).toBe('')
    // A later lora commit carries only its own change.
    await ok(['tag', '1', '--add', 'q'], ds)
    expect(await touched(ds)).toEqual(['.lora-tagger/state.json', 'output/img_0001.txt', 'output/tags.txt'])
  })

  it('`--no-commit`: the state follows the captions, nothing is committed; nothing to rescan: no commit', async () => {
    const ds = await fresh()
    const before = await head(ds)
    await writeCaption(ds, 'img_0003', 'elsewhere\n')
    expect((await json(['status', '--rescan', '--no-commit'], ds)).rescanned).toEqual(['img_0003'])
    expect(await head(ds)).toBe(before)
    expect((await readState(ds)).images[2].tags).toEqual(['elsewhere'])
    expect((await json(['status', '--rescan'], ds)).rescanned).toEqual([])
    expect(await head(ds)).toBe(before)
  })
})

// ---------------------------------------------------------------------------------------------------------------

describe('lora undo', () => {
  it.each([
    ['as lora init --git writes it', false],
    ['written before it listed gallery/ (an older lora)', true],
  ])(
    "a gallery made before a change stays out of the change's commit, which undo then undoes (.lora-tagger/.gitignore %s)",
    async (_, older) => {
      const ds = await fresh()
      const ignore = join(ds, '.lora-tagger', '.gitignore')
      expect((await readText(ignore)).split('\n')).toContain('gallery/')
      if (older) {
        await fsp.writeFile(ignore, (await readText(ignore)).replace('gallery/\n', ''))
        await git(ds, ['commit', '-q', '-am', 'the .gitignore of an older lora'])
      }
      await ok(['gallery'], ds)
      expect(fs.existsSync(join(ds, '.lora-tagger', 'gallery', 'index.html'))).toBe(true)
      await ok(['tag', '1', '--add', 'astronaut'], ds)
      expect(await touched(ds)).toEqual(['.lora-tagger/state.json', 'output/img_0001.txt', 'output/tags.txt'])
      // Ignored by .lora-tagger/.gitignore, and by the gallery's own .gitignore where an older one does not list it.
      expect(await porcelain(ds)).toBe('')
      expect(await readText(join(ds, '.lora-tagger', 'gallery', '.gitignore'))).toContain('\n*\n')
      const report = await json(['undo'], ds)
      expect(report.images).toEqual(['img_0001'])
      expect(await caption(ds, 'img_0001')).toBe('')
    },
  )

  it('undoing a bulk rename restores every caption, tags.txt and state.json tags, as a new commit', async () => {
    const ds = await fresh()
    await ok(['tag', '1', '--add', 'red hair'], ds)
    await ok(['tag', '2', '3', '--add', 'longhair,smile'], ds)
    const ids = ['img_0001', 'img_0002', 'img_0003']
    const captionsBefore = await Promise.all(ids.map((id) => caption(ds, id)))
    const vocabularyBefore = await readText(join(ds, 'output', 'tags.txt'))
    const stateBefore = (await readState(ds)).images.map((i) => [i.id, i.status, i.tags])

    await ok(['tags', 'rename', 'longhair', 'long hair'], ds)
    const rename = await head(ds)
    expect(await caption(ds, 'img_0002')).toBe('long hair, smile\n')
    expect(await readText(join(ds, 'output', 'tags.txt'))).not.toBe(vocabularyBefore)
    const count = await commitCount(ds)

    const report = await json(['undo'], ds)
    expect(report.reverted).toBe(rename)
    expect(report.images).toEqual(['img_0002', 'img_0003'])
    expect(await Promise.all(ids.map((id) => caption(ds, id)))).toEqual(captionsBefore)
    expect(await readText(join(ds, 'output', 'tags.txt'))).toBe(vocabularyBefore)
    expect((await readState(ds)).images.map((i) => [i.id, i.status, i.tags])).toEqual(stateBefore)
    expect(await stateCaptionProblems(ds)).toEqual([])

    // A new commit on top (history kept), naming what it reverted; nothing left uncommitted.
    expect(await commitCount(ds)).toBe(count + 1)
    expect(report.commit).toBe(await head(ds))
    expect((await git(ds, ['rev-parse', 'HEAD~1'])).trim()).toBe(rename)
    expect(await message(ds)).toBe(
      `undo ${rename.slice(0, 7)}: tags rename "longhair" ${ARROW} "long hair" in 2 captions\n\nLora-Change: undo\nLora-Images: img_0002 img_0003\nLora-Undoes: ${rename}\n`,
    )
    expect(await git(ds, ['show', 'HEAD:output/tags.txt'])).toBe(vocabularyBefore)
    expect(await porcelain(ds)).toBe('')
    expect(fs.existsSync(join(ds, '.git', 'REVERT_HEAD'))).toBe(false)
    expect(fs.existsSync(join(ds, '.git', 'sequencer'))).toBe(false)

    // The undo is itself in the tag-level history.
    const {events} = await json<{events: Event[]}>(['log', '-n', '2'], ds)
    expect(brief(events)).toEqual([
      [report.commit, 'img_0002', ['longhair'], ['long hair']],
      [report.commit, 'img_0003', ['longhair'], ['long hair']],
    ])
  })

  it('`lora undo COMMIT` reverts an older commit, keeping the later ones', async () => {
    const ds = await fresh()
    await ok(['tag', '2', '--add', 'a,b'], ds)
    await ok(['tag', '1', '--add', 'a'], ds)
    const target = await head(ds)
    await ok(['tag', '3', '--add', 'b'], ds)
    const report = await json(['undo', target.slice(0, 7)], ds)
    expect(report.reverted).toBe(target)
    expect(await caption(ds, 'img_0001')).toBe('')
    expect(await caption(ds, 'img_0002')).toBe('a, b\n')
    expect(await caption(ds, 'img_0003')).toBe('b\n')
    const state = await readState(ds)
    expect(state.images.map((i) => [i.id, i.status, i.tags])).toEqual([
      ['img_0001', 'pending', []],
      ['img_0002', 'tagged', ['a', 'b']],
      ['img_0003', 'tagged', ['b']],
    ])
    expect(await subject(ds)).toBe(`undo ${target.slice(0, 7)}: tag img_0001: +a`)
    expect(await porcelain(ds)).toBe('')
  })

  it('refuses while a caption has uncommitted changes: nonzero exit, clear message, nothing changed', async () => {
    const ds = await fresh()
    await ok(['tag', '1', '--add', 'red hair'], ds)
    await writeCaption(ds, 'img_0002', 'hand edit\n')
    const before = await repoSnapshot(ds)
    const r = await run(['undo'], ds)
    expectRefusal(r, /uncommitted/u)
    expect(r.stderr).toMatch(/img_0002\.txt/u)
    expect(await repoSnapshot(ds)).toEqual(before)
    expect(await caption(ds, 'img_0001')).toBe('red hair\n')
  })
})

// ---------------------------------------------------------------------------------------------------------------

describe('refuses, changing nothing, when it cannot commit', () => {
  it('`index.lock` held: `lora tag` fails naming index.lock', async () => {
    const ds = await fresh()
    await fsp.writeFile(join(ds, '.git', 'index.lock'), '')
    const before = await workTreeSnapshot(ds)
    const start = await head(ds)
    const r = await run(['tag', '1', '--add', 'red hair'], ds)
    expectRefusal(r, /index\.lock/u)
    expect(await workTreeSnapshot(ds)).toEqual(before)
    expect(await head(ds)).toBe(start)
    expect(await caption(ds, 'img_0001')).toBe('')
  })

  it('a merge in progress (MERGE_HEAD): `lora tag` and `lora tags rename` fail, naming the merge', async () => {
    const ds = await fresh()
    await ok(['tag', '1', '--add', 'longhair'], ds)
    const start = await head(ds)
    await fsp.writeFile(join(ds, '.git', 'MERGE_HEAD'), `${start}\n`)
    const before = await repoSnapshot(ds)
    const tag = await run(['tag', '2', '--add', 'red hair'], ds)
    expectRefusal(tag, /merge/iu)
    expect(await repoSnapshot(ds)).toEqual(before)
    const rename = await run(['tags', 'rename', 'longhair', 'long hair'], ds)
    expectRefusal(rename, /merge/iu)
    expect(await repoSnapshot(ds)).toEqual(before)
    expect(await caption(ds, 'img_0001')).toBe('longhair\n')
  })

  it('no `git` binary, history on: `lora tag` fails with a clear error and nothing changed', async () => {
    const ds = await fresh()
    const before = await repoSnapshot(ds)
    const env = {PATH: await nodeOnlyPath()}
    const r = await run(['tag', '1', '--add', 'red hair'], ds, env)
    expectRefusal(r, /git is not installed/u)
    expect(await repoSnapshot(ds)).toEqual(before)
    // Reading the history needs git too: a clear error, not a crash.
    expectRefusal(await run(['log'], ds, env), /git is not installed/u)
    // With --no-commit the same edit works without git.
    await ok(['tag', '1', '--add', 'red hair', '--no-commit'], ds, env)
    expect(await caption(ds, 'img_0001')).toBe('red hair\n')
  })

  it('no `git` binary: `lora init --git` fails with a clear error and creates nothing', async () => {
    const dir = join(await tempDir('lora-git-nogit-init-'), 'imgs')
    await copyFixtures(dir, THREE)
    const before = await snapshot(dir)
    const r = await run(['init', '.', '--git'], dir, {PATH: await nodeOnlyPath()})
    expectRefusal(r, /git is not installed/u)
    expect(await snapshot(dir)).toEqual(before)
  })
})

describe('a commit that fails once the change is saved', () => {
  it('says "Saved, but not committed" (exit 1), keeps the change, releases the lock; the next change commits it', async () => {
    const ds = await fresh()
    const start = await head(ds)
    // A pre-commit hook of yours that refuses: the readiness check cannot see it (hooks run, as git runs them), so
    // the change is written and only the commit fails.
    const hooks = await globalHooks({'pre-commit': '#!/bin/sh\necho "hook says no" >&2\nexit 1\n'})
    const r = await run(['tag', '1', '--add', 'red hair'], ds, hooks.env)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: Saved, but not committed: git failed to commit: /u)
    expect(r.stderr).toMatch(/\nhint: The change is in the dataset files; only its commit is missing\./u)
    expect(r.stderr).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)/u)
    expect(await caption(ds, 'img_0001')).toBe('red hair\n')
    expect((await readState(ds)).images[0].tags).toEqual(['red hair'])
    expect(await head(ds)).toBe(start)
    expect(fs.existsSync(join(ds, '.lora-tagger', 'lock'))).toBe(false)
    // Without the hook, the next change commits the saved one with its own.
    await fsp.rm(join(hooks.dir, 'pre-commit'))
    await ok(['tag', '2', '--add', 'smile'], ds, hooks.env)
    expect(await git(ds, ['show', 'HEAD:output/img_0001.txt'])).toBe('red hair\n')
    expect(await porcelain(ds)).toBe('')
  })
})
