/**
 * Issue 12, rules 5 and 8, in-process with the real `git` on real repositories in temp folders:
 * - Rule 8, undo touches only the dataset: `lora undo` never resets, aborts or reverts anything in git; a conflicting
 *   undo leaves the user's staged work outside the dataset byte-identical and staged; the undo stack (`lora undo`
 *   twice, `Lora-Undoes` trailers), an already undone commit (exit 1), an unknown commit (exit 2), a commit that
 *   also changed a file outside the dataset (only the dataset part is undone, and said), an older commit whose
 *   tags.txt/state.json changes would conflict in git but whose caption changes apply, a detached HEAD (warning).
 * - Rule 5, check before changing: a parent `.gitignore` ignoring `.lora-tagger/` (init --git, git enable and later
 *   writes refuse before creating or changing anything), no git identity (refused before), a commit that fails
 *   after the change (gpg signing without a key, a refusing pre-commit hook: "Saved, but not committed" with the
 *   exact git command, `status` lists the caption), your own hooks (a global `core.hooksPath`) run and `git.verify:
 *   false` skips them.
 * - A dataset is data, not code: a repository's own config and hooks (fsmonitor, filters, gpg program, signature
 *   check, `.git/hooks`) run nothing on any lora command, while a filter of your global config still applies; a
 *   `.git` file, link or `core.worktree` leading outside the dataset is refused and the repository outside is left
 *   as it was; a FIFO where git reads a file (`.git/config`, `.git/HEAD`, `.git/index`, a `.gitattributes` or
 *   `.gitignore`) is refused before git runs, naming it, instead of hanging every command that runs git.
 * Each case asserts the exit code, the message, and that files outside the dataset are byte-identical (sha256).
 * What needs a mount (init --link/--copy across file systems, a read-only output folder) is in
 * test/reliability/cross-device.test.ts.
 */
import {execFileSync, spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {deflateSync} from 'node:zlib'
import {
  cleanupTemps,
  cloneDataset,
  copyFixtures,
  GOOD_FIXTURES,
  lora,
  readState,
  readText,
  type RunResult,
  sha256,
  snapshot,
  tempDir,
} from '../e2e/e2e-helpers.js'
import {
  GIT_ENV,
  git,
  gitLora,
  gitLoraJson,
  gitLoraOk,
  gitRaw,
  globalHooks,
  head,
  lazy,
  message,
  porcelain,
  subject,
  workTreeSnapshot,
} from '../git-helpers.js'

const THREE = GOOD_FIXTURES.slice(0, 3)

afterAll(cleanupTemps)

const run = gitLora
const ok = gitLoraOk
const json = gitLoraJson

/** The working files, HEAD, the status and the staged content: everything a change would show. */
async function everything(
  dir: string,
): Promise<{files: Record<string, string>; head: string; status: string; staged: string}> {
  return {
    files: await workTreeSnapshot(dir),
    head: await head(dir),
    status: await porcelain(dir),
    staged: await git(dir, ['diff', '--cached', '--binary']),
  }
}
const caption = (ds: string, id: string): Promise<string> => readText(join(ds, 'output', `${id}.txt`))

/**
 * The enclosing repository `top` with a committed README, and the dataset in `top/sub` (`init --git --move` of three
 * fixtures, so `sub` holds only the dataset); tests clone it.
 */
const template = lazy(async () => {
  const top = join(await tempDir('lora-gs-tpl-'), 'top')
  await fsp.mkdir(top, {recursive: true})
  await git(top, ['init', '--quiet'])
  await fsp.writeFile(join(top, 'README'), 'committed text\n')
  await git(top, ['add', 'README'])
  await git(top, ['commit', '--quiet', '-m', 'readme'])
  await copyFixtures(join(top, 'sub'), THREE)
  await ok(['init', '.', '--git', '--move'], join(top, 'sub'))
  return top
})
/** A fresh copy of the template: the repository top, and the dataset folder in it. */
async function fresh(): Promise<{top: string; ds: string}> {
  const top = await cloneDataset(await template())
  return {top, ds: join(top, 'sub')}
}
/** Stages a change to README (work the user has in progress outside the dataset). */
async function stageReadme(top: string): Promise<void> {
  await fsp.writeFile(join(top, 'README'), 'staged work in progress\n')
  await git(top, ['add', 'README'])
}
async function expectReadmeStaged(top: string): Promise<void> {
  expect(await readText(join(top, 'README'))).toBe('staged work in progress\n')
  expect(await git(top, ['show', ':README'])).toBe('staged work in progress\n')
  expect((await git(top, ['diff', '--cached', '--name-only'])).split('\n').filter(Boolean)).toEqual(['README'])
}

// ---------------------------------------------------------------------------------------------------------------

describe('rule 8: lora undo touches only the dataset', () => {
  it('a conflicting undo changes nothing: the staged README outside the dataset stays byte-identical and staged', async () => {
    const {top, ds} = await fresh()
    await ok(['tag', '1', '--add', 'a'], ds)
    const first = await head(top)
    await ok(['tag', '1', '--add', 'b'], ds)
    const later = await head(top)
    await stageReadme(top)
    const before = await everything(top)
    const r = await run(['undo', first.slice(0, 7)], ds)
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `error: Cannot undo ${first.slice(0, 7)} "tag img_0001: +a": img_0001 was changed again later, by ${later.slice(0, 7)} "tag img_0001: +b". Nothing was changed.\n` +
        `hint: Undo the later change first (lora undo ${later.slice(0, 7)}), then this one; or edit the caption by hand (lora tag img_0001 --set "...").\n`,
    )
    expect(await everything(top)).toEqual(before)
    await expectReadmeStaged(top)
    expect(fs.existsSync(join(top, '.git', 'REVERT_HEAD'))).toBe(false)
  })

  it('a caption replaced by a FIFO: lora undo refuses naming it (git sees a change), never waiting on it', async () => {
    const {top, ds} = await fresh()
    await ok(['tag', '1', '--add', 'a'], ds)
    const before = await head(top)
    const caption = join(ds, 'output', 'img_0001.txt')
    await fsp.rm(caption)
    execFileSync('mkfifo', [caption])
    // Refused by the check for uncommitted changes; the caption read after it (planUndo) opens no FIFO either.
    const r = await run(['undo'], ds)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: Not undoing: captions have uncommitted changes \(sub\/output\/img_0001\.txt\)/u)
    expect(await head(top)).toBe(before)
    expect((await fsp.lstat(caption)).isFIFO()).toBe(true)
  })

  /**
   * Two hand commits of `caption` in the repository at `top`: 1 MiB and one byte (just past the cap,
   * CAPTION_MAX_BYTES; subject `huge caption`), then `text` (`small again`). Their hashes.
   */
  async function hugeThenSmall(top: string, caption: string, text: string): Promise<{huge: string; small: string}> {
    await fsp.writeFile(caption, Buffer.alloc(2 ** 20 + 1, 'a'))
    await git(top, ['commit', '--quiet', '-am', 'huge caption'])
    const huge = await head(top)
    await fsp.writeFile(caption, text)
    await git(top, ['commit', '--quiet', '-am', 'small again'])
    return {huge, small: await head(top)}
  }

  it('a caption version in history larger than 1 MiB (a hand commit): lora undo refuses naming the file, the commit and the cap, reading none of it', async () => {
    const {top, ds} = await fresh()
    const {huge, small} = await hugeThenSmall(top, join(ds, 'output', 'img_0001.txt'), 'red hair\n')
    const before = await everything(top)
    // Undoing `small` would bring the huge version back; undoing `huge` would compare the caption with it.
    for (const [target, subj] of [
      [small, 'small again'],
      [huge, 'huge caption'],
    ]) {
      const r = await run(['undo', target.slice(0, 7)], ds)
      expect({code: r.code, stderr: r.stderr}).toEqual({
        code: 1,
        stderr:
          `error: Cannot undo ${target.slice(0, 7)} "${subj}": output/img_0001.txt at ${huge.slice(0, 7)} is 1.0 MiB (1,048,577 bytes), more than the 1 MiB lora reads for a caption file; nothing of it was read, and nothing was changed.\n` +
          'hint: A caption file holds one line of tags; this version is not one. Set the caption by hand instead (lora tag img_0001 --set "..."), or undo another change.\n',
      })
    }
    expect(await everything(top)).toEqual(before)
  })

  it.each([
    ['state.json', '.lora-tagger/state.json'],
    ['tags.txt', 'output/tags.txt'],
  ])(
    'a version of %s in history past 512 MiB (a hand commit): lora undo refuses naming it, the commit and the cap, reading none of it',
    async (_, rel) => {
      const {top, ds} = await fresh()
      // A loose blob whose header says 629,145,600 bytes, as a repository from elsewhere may hold one (a real one
      // takes git seconds to write); only its size may be read. Committed without touching the working copy.
      const content = Buffer.from('not read\n')
      const header = Buffer.from('blob 629145600\0')
      const id = createHash('sha1').update(rel).digest('hex')
      await fsp.mkdir(join(top, '.git', 'objects', id.slice(0, 2)), {recursive: true})
      await fsp.writeFile(
        join(top, '.git', 'objects', id.slice(0, 2), id.slice(2)),
        deflateSync(Buffer.concat([header, content])),
      )
      await git(top, ['update-index', '--cacheinfo', `100644,${id},sub/${rel}`])
      await git(top, ['commit', '--quiet', '-m', 'huge by hand'])
      const huge = await head(top)
      // lora's next change commits its own file over it: undoing that change would read the version before it.
      await ok(['tag', '1', '--add', 'red hair'], ds)
      const target = await head(top)
      const before = await everything(top)
      const r = await run(['undo'], ds)
      expect({code: r.code, stderr: r.stderr}).toEqual({
        code: 1,
        stderr:
          `error: Cannot undo ${target.slice(0, 7)} "tag img_0001: +red hair": ${rel} at ${huge.slice(0, 7)} is 600.0 MiB (629,145,600 bytes), more than the 512 MiB lora reads of it; nothing of it was read, and nothing was changed.\n` +
          `hint: lora never writes a file that large, so that version is not lora's. Undo the change by hand (git revert ${target.slice(0, 7)}), or set the captions with lora tag.\n`,
      })
      expect(await everything(top)).toEqual(before)
    },
  )

  it('a caption version in history larger than 1 MiB: lora log and blame show its changes as too large, naming the file, and read the others', async () => {
    const {top, ds} = await fresh()
    await ok(['tag', '1', '--add', 'red hair'], ds)
    const {huge, small} = await hugeThenSmall(top, join(ds, 'output', 'img_0001.txt'), 'red hair, blue eyes\n')
    // Exactly 1 MiB: within the cap, read and shown as before (its one line a tag).
    const other = join(ds, 'output', 'img_0002.txt')
    await fsp.writeFile(other, Buffer.alloc(2 ** 20, 'b'))
    await git(top, ['commit', '--quiet', '-am', 'one MiB caption'])
    const oneMiB = await head(top)
    const log2 = await json(['log', '2'], ds)
    expect(log2.events[0]).toMatchObject({commit: oneMiB, added: ['b'.repeat(2 ** 20)]})
    expect(log2.events[0].tooLarge).toBeUndefined()
    await ok(['tag', '1', '--add', 'smile'], ds)
    const smile = await head(top)
    const tooLarge = {path: 'output/img_0001.txt', size: 2 ** 20 + 1}
    const log = await json(['log', '1'], ds)
    expect(
      log.events.map((e: {commit: string; added: string[]; removed: string[]; tooLarge?: unknown}) => [
        e.commit,
        e.added,
        e.removed,
        e.tooLarge,
      ]),
    ).toEqual([
      [smile, ['smile'], [], undefined],
      [small, [], [], tooLarge],
      [huge, [], [], tooLarge],
      [expect.any(String), ['red hair'], [], undefined],
    ])
    const text = await run(['log', '1'], ds)
    expect(text.stdout).toContain(`${small.slice(0, 7)} `)
    expect(text.stdout).toContain(
      'img_0001  change too large to show: output/img_0001.txt is 1.0 MiB (1,048,577 bytes), more than the 1 MiB lora reads for a caption file\n',
    )
    const blame = await json(['blame', '1'], ds)
    expect(blame.tags.map((t: {tag: string; commit: string}) => [t.tag, t.commit])).toEqual([
      ['red hair', small],
      ['blue eyes', small],
      ['smile', smile],
    ])
    expect(blame.tooLarge).toEqual([
      {commit: huge, ...tooLarge},
      {commit: small, ...tooLarge},
    ])
  })

  it('a successful undo leaves the staged README staged and out of its commit', async () => {
    const {top, ds} = await fresh()
    await ok(['tag', '1', '--add', 'a'], ds)
    await stageReadme(top)
    const readme = await sha256(join(top, 'README'))
    await ok(['undo'], ds)
    expect(await sha256(join(top, 'README'))).toBe(readme)
    await expectReadmeStaged(top)
    expect((await git(top, ['show', '--name-only', '--format=', 'HEAD'])).split('\n').filter(Boolean).sort()).toEqual([
      'sub/.lora-tagger/state.json',
      'sub/output/img_0001.txt',
      'sub/output/tags.txt',
    ])
  })

  it('`lora undo` twice undoes the next older change each time, then says there is nothing left (exit 2)', async () => {
    const {top, ds} = await fresh()
    await ok(['tag', '1', '--add', 'a'], ds)
    const a = await head(top)
    await ok(['tag', '2', '--add', 'b'], ds)
    const b = await head(top)
    const readme = await sha256(join(top, 'README'))

    // The human form says which commit was undone, which images went back, the undo's commit, and what next.
    const one = await ok(['undo'], ds)
    const u1 = (await head(top)).slice(0, 7)
    expect(one.stderr).toBe(
      `Undid ${b.slice(0, 7)} "tag img_0002: +b": 1 image back as before (img_0002).\n` +
        `Committed the undo as ${u1}.\n` +
        `Next: \`lora undo\` again undoes the next older change; \`lora undo ${u1}\` brings this one back.\n`,
    )
    expect(await message(top)).toBe(
      `undo ${b.slice(0, 7)}: tag img_0002: +b\n\nLora-Change: undo\nLora-Images: img_0002\nLora-Undoes: ${b}\n`,
    )
    const two = await ok(['undo'], ds)
    expect(two.stderr).toMatch(
      new RegExp(`^Undid ${a.slice(0, 7)} "tag img_0001: \\+a": 1 image back as before \\(img_0001\\)\\.\n`, 'u'),
    )
    expect(await subject(top)).toBe(`undo ${a.slice(0, 7)}: tag img_0001: +a`)
    expect([await caption(ds, 'img_0001'), await caption(ds, 'img_0002')]).toEqual(['', ''])
    expect((await readState(ds)).images.map((i) => [i.status, i.tags])).toEqual([
      ['pending', []],
      ['pending', []],
      ['pending', []],
    ])
    expect(await readText(join(ds, 'output', 'tags.txt'))).toBe('')
    expect(await porcelain(top)).toBe('')

    const start = await head(top)
    const three = await run(['undo'], ds)
    expect(three.code).toBe(2)
    const init = (await git(top, ['log', '--format=%h', '-1', '--grep', '^lora: init'])).trim()
    expect(three.stderr).toBe(
      `error: Nothing left to undo: the next older lora change, ${init} "lora: init — 3 images", is where this history of the images starts (their import, or history turned on), and lora undo does not undo that.\n` +
        'hint: See `lora log` for the history; `lora undo <commit>` undoes a given tag change, and an undo commit can be undone to bring its change back.\n',
    )
    expect(await head(top)).toBe(start)
    expect(await sha256(join(top, 'README'))).toBe(readme)
  })

  it('`lora undo X` for an undone X says "already undone by Y" (exit 1); undoing the undo brings X back', async () => {
    const {top, ds} = await fresh()
    await ok(['tag', '1', '--add', 'a'], ds)
    const a = await head(top)
    const undo = await json(['undo'], ds)
    const before = await everything(top)
    const r = await run(['undo', a.slice(0, 7)], ds)
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `error: ${a.slice(0, 7)} "tag img_0001: +a" is already undone, by ${undo.commit.slice(0, 7)} "undo ${a.slice(0, 7)}: tag img_0001: +a"; nothing was changed.\n` +
        `hint: To bring it back, undo the undo: lora undo ${undo.commit.slice(0, 7)}. To undo the next older change instead: lora undo.\n`,
    )
    expect(await everything(top)).toEqual(before)
    // Undoing the undo (a redo) brings the tag back; then `lora undo` undoes the change again.
    await ok(['undo', undo.commit], ds)
    expect(await caption(ds, 'img_0001')).toBe('a\n')
    expect((await json(['undo'], ds)).reverted).toBe(a)
    expect(await caption(ds, 'img_0001')).toBe('')
  })

  it('an unknown commit is a usage error naming it (exit 2), nothing changed', async () => {
    const {top, ds} = await fresh()
    await ok(['tag', '1', '--add', 'a'], ds)
    const before = await everything(top)
    const r = await run(['undo', 'deadbeef'], ds)
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      'error: Unknown commit "deadbeef": no commit of that name in this repository.\n' +
        'hint: Give a commit from `lora log` (a hash such as 3f2a9c1), or run `lora undo` alone to undo the newest change.\n',
    )
    expect(await everything(top)).toEqual(before)
    // A commit that touched nothing in the dataset (the README commit) is a usage error too.
    const readmeCommit = (await git(top, ['rev-list', '--max-parents=0', 'HEAD'])).trim()
    const r2 = await run(['undo', readmeCommit.slice(0, 7)], ds)
    expect(r2.code).toBe(2)
    expect(r2.stderr).toBe(
      `error: Commit "${readmeCommit.slice(0, 7)}" ("readme") changed nothing in this dataset, so there is nothing to undo.\n` +
        'hint: Give a commit from `lora log` (a hash such as 3f2a9c1), or run `lora undo` alone to undo the newest change.\n',
    )
    expect(await everything(top)).toEqual(before)
  })

  it('a commit that also changed a file outside the dataset: only the dataset part is undone, and the output says so', async () => {
    const {top, ds} = await fresh()
    await fsp.writeFile(join(ds, 'output', 'img_0001.txt'), 'by hand\n')
    await fsp.writeFile(join(top, 'README'), 'edited with the caption\n')
    await git(top, ['add', 'README', 'sub/output/img_0001.txt'])
    await git(top, ['commit', '--quiet', '-m', 'hand: caption and readme'])
    const mixed = await head(top)
    const readme = await sha256(join(top, 'README'))
    const r = await ok(['undo', mixed.slice(0, 7)], ds)
    expect(r.stderr).toBe(
      `Undid ${mixed.slice(0, 7)} "hand: caption and readme": 1 image back as before (img_0001).\n` +
        `${mixed.slice(0, 7)} also changed files lora does not keep (outside the output folder and .lora-tagger/); those are left as they are: README.\n` +
        `Committed the undo as ${(await head(top)).slice(0, 7)}.\n` +
        `Next: \`lora undo\` again undoes the next older change; \`lora undo ${(await head(top)).slice(0, 7)}\` brings this one back.\n`,
    )
    expect(await caption(ds, 'img_0001')).toBe('')
    expect(await sha256(join(top, 'README'))).toBe(readme)
    expect(await porcelain(top)).toBe('')
    expect((await git(top, ['show', '--name-only', '--format=', 'HEAD'])).split('\n').filter(Boolean)).not.toContain(
      'README',
    )
    // --json names the files left as they are.
    await ok(['tag', '2', '--add', 'x'], ds)
    const again = await run(['undo', (await json(['log', '-n', '1'], ds)).events[0].commit, '--json'], ds)
    expect(JSON.parse(again.stdout).outside).toEqual([])
  })

  it('an older commit undoes when its caption changes apply, though git would conflict on tags.txt and state.json', async () => {
    const {top, ds} = await fresh()
    await ok(['tag', '1', '--add', 'a'], ds)
    const a = await head(top)
    await ok(['tag', '2', '--add', 'b'], ds)
    // git itself cannot revert it (tags.txt lines next to each other changed since): lora can.
    const check = await gitRaw(top, ['revert', '--no-commit', a])
    expect(check.code).not.toBe(0)
    await git(top, ['revert', '--abort'])
    const report = await json(['undo', a.slice(0, 7)], ds)
    expect(report.reverted).toBe(a)
    expect(await caption(ds, 'img_0001')).toBe('')
    expect(await caption(ds, 'img_0002')).toBe('b\n')
    expect(await readText(join(ds, 'output', 'tags.txt'))).toBe('b\n')
    expect((await readState(ds)).images.map((i) => [i.id, i.status, i.tags])).toEqual([
      ['img_0001', 'pending', []],
      ['img_0002', 'tagged', ['b']],
      ['img_0003', 'pending', []],
    ])
    expect(await porcelain(top)).toBe('')
  })

  it('the human text of an older undo, of a commit on another branch, and of an import', async () => {
    const {top, ds} = await fresh()
    await ok(['tag', '1', '--add', 'a'], ds)
    const a = (await head(top)).slice(0, 7)
    await ok(['tag', '2', '--add', 'b'], ds)
    const older = await ok(['undo', a], ds)
    const u = (await head(top)).slice(0, 7)
    expect(older.stderr).toBe(
      `Undid ${a} "tag img_0001: +a": 1 image back as before (img_0001).\n` +
        `Committed the undo as ${u}.\n` +
        `Next: \`lora undo\` again undoes the next older change; \`lora undo ${u}\` brings this one back.\n`,
    )
    // A commit on another branch.
    await git(top, ['switch', '--quiet', '-c', 'side'])
    await ok(['tag', '3', '--add', 'c'], ds)
    const side = (await head(top)).slice(0, 7)
    await git(top, ['switch', '--quiet', '-'])
    const before = await everything(top)
    const r = await run(['undo', side], ds)
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      `error: Commit "${side}" is not in the history of the current branch, so its change is not here to undo.\n` +
        'hint: Give a commit from `lora log` (a hash such as 3f2a9c1), or run `lora undo` alone to undo the newest change.\n',
    )
    // The import itself.
    const init = (await git(top, ['log', '--format=%h', '-1', '--grep', '^lora: init'])).trim()
    const imp = await run(['undo', init], ds)
    expect(imp.code).toBe(1)
    expect(imp.stderr).toMatch(
      new RegExp(
        `^error: Cannot undo ${init} "lora: init — 3 images": it adds, removes or replaces files other than captions in the dataset \\(.+, …\\), and lora undo undoes tag changes only\\. Nothing was changed\\.\\nhint: Undo a later tag change instead, or undo this one by hand: git revert ${init}\\.\\n$`,
        'u',
      ),
    )
    expect(await everything(top)).toEqual(before)
  })

  it('undoing a skip puts the image back to pending', async () => {
    const {top, ds} = await fresh()
    await ok(['tag', '3', '--skip'], ds)
    expect((await readState(ds)).images[2].status).toBe('skipped')
    await ok(['undo'], ds)
    expect((await readState(ds)).images[2].status).toBe('pending')
    expect(await porcelain(top)).toBe('')
  })

  it('a detached HEAD gets a warning before the undo is committed', async () => {
    const {top, ds} = await fresh()
    await ok(['tag', '1', '--add', 'a'], ds)
    await git(top, ['checkout', '--quiet', '--detach'])
    const r = await ok(['undo'], ds)
    expect(r.stderr).toMatch(
      /^warning: HEAD is detached \(no branch checked out\): the undo is committed on the detached HEAD; `git switch -c <name>` keeps it on a branch\.\nUndid /u,
    )
    expect(await caption(ds, 'img_0001')).toBe('')
  })
})

describe('a detached HEAD: every commit lora makes is warned about first, once, on stderr', () => {
  const WARNING = (what: string) =>
    `warning: HEAD is detached (no branch checked out): ${what} is committed on the detached HEAD; \`git switch -c <name>\` keeps it on a branch.\n`

  it('`lora tag`, `lora tags rename` and `lora tag --json`: the warning once, before the commit', async () => {
    const {top, ds} = await fresh()
    await git(top, ['checkout', '--quiet', '--detach'])
    const start = await head(top)
    const r = await ok(['tag', '1', '2', '--add', 'red hair'], ds)
    expect(r.stderr).toBe(WARNING('the tag change') + '2 of 2 images changed.\n')
    expect(await head(top)).not.toBe(start)
    expect(await subject(top)).toBe('tag 2 images: +red hair')
    const rename = await ok(['tags', 'rename', 'red hair', 'long hair'], ds)
    expect(rename.stderr.split(WARNING('the tags rename change')).length).toBe(2)
    expect(rename.stderr.indexOf('warning: HEAD is detached')).toBe(0)
    // JSON on stdout stays clean; the warning is on stderr.
    const json = await ok(['tag', '3', '--add', 'smile', '--json'], ds)
    expect(json.stderr.split(WARNING('the tag change')).length).toBe(2)
    expect(json.stderr.indexOf('warning: HEAD is detached')).toBe(0)
    expect(() => JSON.parse(json.stdout)).not.toThrow()
  })

  it('no warning on a branch, nor when nothing is committed (--no-commit)', async () => {
    const {top, ds} = await fresh()
    expect((await ok(['tag', '1', '--add', 'a'], ds)).stderr).not.toContain('warning')
    await git(top, ['checkout', '--quiet', '--detach'])
    expect((await ok(['tag', '1', '--add', 'b', '--no-commit'], ds)).stderr).not.toContain('warning')
  })
})

// ---------------------------------------------------------------------------------------------------------------

describe('rule 5: check before changing', () => {
  /** `top` (a repository whose committed .gitignore ignores `.lora-tagger/`) with three images in `top/sub`. */
  async function ignoringTop(): Promise<{top: string; sub: string}> {
    const top = join(await tempDir('lora-gs-ign-'), 'top')
    await fsp.mkdir(top, {recursive: true})
    await git(top, ['init', '--quiet'])
    await fsp.writeFile(join(top, '.gitignore'), '.lora-tagger/\n')
    await git(top, ['add', '.gitignore'])
    await git(top, ['commit', '--quiet', '-m', 'ignore'])
    const sub = join(top, 'sub')
    await copyFixtures(sub, THREE)
    return {top, sub}
  }
  const IGNORED =
    /^error: git ignores sub\/\.lora-tagger\/state\.json \(rule "\.lora-tagger\/" in \.gitignore, line 1\), so this dataset's changes cannot be committed; nothing was changed\.\nhint: Let git take the dataset's files: remove that rule, or add a line after it that un-ignores them/u

  it('a parent .gitignore ignoring .lora-tagger/: `init --git` refuses before creating anything', async () => {
    const {top, sub} = await ignoringTop()
    const before = await everything(top)
    const r = await run(['init', '.', '--git', '--move'], sub)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(IGNORED)
    expect(await everything(top)).toEqual(before)
  })

  it('… `git enable` refuses before changing anything, and so does a later write once history is on', async () => {
    const {top, sub} = await ignoringTop()
    await ok(['init', '.', '--move'], sub)
    const before = await everything(top)
    const r = await run(['git', 'enable'], sub)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(IGNORED)
    expect(await everything(top)).toEqual(before)

    // History on while git ignores the state (autoCommit set by hand, the state never committed): a write refuses
    // before changing anything, instead of failing after its change.
    const config = join(sub, '.lora-tagger', 'config.yaml')
    await fsp.writeFile(config, (await readText(config)).replace('autoCommit: false', 'autoCommit: true'))
    const before2 = await everything(top)
    const tag = await run(['tag', '1', '--add', 'red hair'], sub)
    expect(tag.code).toBe(1)
    expect(tag.stderr).toMatch(IGNORED)
    expect(tag.stderr).toContain("(`!/sub/.lora-tagger/` in the repository's top .gitignore)")
    expect(await everything(top)).toEqual(before2)
    // A rule that would leave new images out (`*.jpg`) is refused too, naming a sample path.
    await fsp.writeFile(join(top, '.gitignore'), '*.jpg\n')
    await git(top, ['add', '.gitignore'])
    await git(top, ['commit', '--quiet', '-m', 'ignore jpg'])
    const init = await run(['init', '.', '--git'], sub)
    expect(init.code).toBe(1)
    expect(init.stderr).toMatch(
      /^error: git ignores sub\/output\/img_99999999\.jpg \(rule "\*\.jpg" in \.gitignore, line 1\)/u,
    )
    expect(init.stderr).toContain("(`!/sub/output/**` in the repository's top .gitignore)")
    // The fix the hint gives works: git names the un-ignoring rule too (`!/sub/output/**`), which is no refusal.
    await fsp.writeFile(join(top, '.gitignore'), '*.jpg\n!/sub/output/**\n')
    const fixed = await run(['tag', '1', '--add', 'smile'], sub)
    expect({code: fixed.code, stderr: fixed.stderr}).toEqual({code: 0, stderr: '1 of 1 image changed.\n'})
    expect(await git(top, ['log', '-1', '--format=%s'])).toMatch(/^tag img_0001: \+smile/u)
  })

  /** A committed repository (`<temp>/top`) whose folder `folder` holds a `.gitignore` of `*.txt`. */
  async function repoIgnoringTxtIn(prefix: string, folder: string): Promise<string> {
    const top = join(await tempDir(prefix), 'top')
    await fsp.mkdir(join(top, folder), {recursive: true})
    await git(top, ['init', '--quiet'])
    await fsp.writeFile(join(top, folder, '.gitignore'), '*.txt\n')
    await git(top, ['add', '.'])
    await git(top, ['commit', '--quiet', '-m', 'ignore'])
    return top
  }

  /**
   * In a repository whose folder `folder` ignores `*.txt`, `init --git --move` of `folder/ds` is refused naming the
   * rule, its file and the caption path as git would, and changes nothing. Returns the repository's top.
   */
  async function expectTxtRuleRefused(prefix: string, folder: string): Promise<string> {
    const top = await repoIgnoringTxtIn(prefix, folder)
    const ds = join(top, folder, 'ds')
    await copyFixtures(ds, THREE)
    const before = await everything(top)
    const r = await run(['init', '.', '--git', '--move'], ds)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: git ignores /u)
    expect(r.stderr).toContain(
      `git ignores ${folder}/ds/output/tags.txt (rule "*.txt" in ${folder}/.gitignore, line 1),`,
    )
    expect(await everything(top)).toEqual(before)
    return top
  }

  it('an ignore file in a folder whose name holds colons is read right: its rule still refuses', async () => {
    // git prints `source:line:pattern`; with a source of `x:y:!z/.gitignore` the pattern is not the third field.
    await expectTxtRuleRefused('lora-gs-colon-', 'x:y:!z')
  })

  it('a folder whose name holds a colon-and-digits, a quote and a bracket: the rule, the path and the hint are right', async () => {
    // git quotes such a path in its plain output (C-style, whatever core.quotePath says) and names the ignore file
    // `x:1:y/.gitignore:1:*.txt` in its verbose line; lora reads the NUL-separated records instead.
    const top = await expectTxtRuleRefused('lora-gs-odd-', 'x:1:y')

    // `.lora-tagger/` ignored above a folder named `a"b[1]`: the path as it is, the hint escaped for gitignore.
    await fsp.writeFile(join(top, '.gitignore'), '.lora-tagger/\n')
    const odd = join(top, 'a"b[1]')
    await copyFixtures(odd, THREE)
    const refused = await run(['init', '.', '--git', '--move'], odd)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(
      /^error: git ignores a"b\[1\]\/\.lora-tagger\/[^ ]+ \(rule "\.lora-tagger\/" in \.gitignore, line 1\)/u,
    )
    const hint = /\(`([^`]+)` in the repository's top \.gitignore\)/u.exec(refused.stderr)?.[1]
    expect(hint).toBe('!/a"b\\[1]/.lora-tagger/')
    // The hint, followed word for word, is the fix.
    await fsp.appendFile(join(top, '.gitignore'), `${hint}\n`)
    const fixed = await run(['init', '.', '--git', '--move'], odd)
    expect({code: fixed.code, stderr: fixed.stderr}).toMatchObject({code: 0})
    expect(await git(top, ['--literal-pathspecs', 'ls-files', '--', 'a"b[1]/.lora-tagger/state.json'])).toContain(
      'state.json',
    )
  })

  /**
   * A user whose own git configuration ignores `.lora-tagger/` everywhere: `core.excludesFile` in a temporary
   * `$HOME/.gitconfig` (or the default `$XDG_CONFIG_HOME/git/ignore`), git's real configuration in use (not the
   * tests' `GIT_CONFIG_GLOBAL=/dev/null`); and three images in a folder that is in no repository.
   */
  async function globalExcludes(
    how: 'excludesFile' | 'xdg',
  ): Promise<{home: string; dir: string; env: NodeJS.ProcessEnv}> {
    const base = await tempDir('lora-gs-xcl-')
    const home = join(base, 'home')
    const xdg = join(base, 'xdg')
    await fsp.mkdir(join(xdg, 'git'), {recursive: true})
    await fsp.mkdir(home, {recursive: true})
    if (how === 'excludesFile') {
      await fsp.writeFile(join(home, 'global-ignore'), '# mine\n.lora-tagger/\n')
      await fsp.writeFile(join(home, '.gitconfig'), `[core]\n\texcludesFile = ${join(home, 'global-ignore')}\n`)
    } else await fsp.writeFile(join(xdg, 'git', 'ignore'), '.lora-tagger/\n')
    const dir = join(base, 'imgs')
    await copyFixtures(dir, THREE)
    return {home, dir, env: {HOME: home, XDG_CONFIG_HOME: xdg, GIT_CONFIG_GLOBAL: undefined}}
  }

  it('global excludes (core.excludesFile) ignoring .lora-tagger/: `init --git` in no repository refuses before creating anything (no .git)', async () => {
    const {home, dir, env} = await globalExcludes('excludesFile')
    const before = await snapshot(dir)
    const homeBefore = await snapshot(home)
    const r = await run(['init', '.', '--git', '--move'], dir, env)
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `error: git ignores .lora-tagger/state.json (rule ".lora-tagger/" in ${join(home, 'global-ignore')}, line 2), so this dataset's changes cannot be committed; nothing was changed.\n` +
        "hint: Let git take the dataset's files: remove that rule, or add a line after it that un-ignores them (`!/.lora-tagger/` in a .gitignore in the dataset folder, the new repository's top); or commit nothing: set git.autoCommit: false in .lora-tagger/config.yaml, or use --no-commit.\n",
    )
    expect(await snapshot(dir)).toEqual(before)
    expect(fs.existsSync(join(dir, '.git'))).toBe(false)
    expect(await snapshot(home)).toEqual(homeBefore)
  })

  it('… `git enable` refuses likewise (XDG default excludes too); un-ignored in the dataset folder, it goes ahead', async () => {
    for (const how of ['excludesFile', 'xdg'] as const) {
      const {dir, env} = await globalExcludes(how)
      await ok(['init', '.', '--move'], dir, env)
      const before = await snapshot(dir)
      const r = await run(['git', 'enable'], dir, env)
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(
        /^error: git ignores \.lora-tagger\/state\.json \(rule "\.lora-tagger\/" in .*, line \d\), so this dataset's changes cannot be committed; nothing was changed\.\n/u,
      )
      expect(await snapshot(dir)).toEqual(before)
      expect(fs.existsSync(join(dir, '.git'))).toBe(false)
      // The fix the hint gives works: the new repository commits the dataset.
      await fsp.writeFile(join(dir, '.gitignore'), '!/.lora-tagger/\n')
      await ok(['git', 'enable'], dir, env)
      expect(await subject(dir)).toMatch(/^lora: dataset history on/u)
      expect(await git(dir, ['ls-files', '.lora-tagger/state.json'])).toBe('.lora-tagger/state.json\n')
    }
  })

  it('global excludes with an enclosing repository: `git enable` refuses before changing anything', async () => {
    const {dir, env} = await globalExcludes('excludesFile')
    await git(dir, ['init', '--quiet'])
    await ok(['init', '.', '--move'], dir, env)
    const before = await snapshot(dir)
    const r = await run(['git', 'enable'], dir, env)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: git ignores \.lora-tagger\/state\.json \(rule "\.lora-tagger\/" in /u)
    expect(await snapshot(dir)).toEqual(before)
  })

  /** ignoringTop with `rule` as the top folder's .gitignore, and a dataset imported in `sub` with history on. */
  async function ignoredWithHistory(rule: string): Promise<{top: string; sub: string}> {
    const {top, sub} = await ignoringTop()
    await fsp.writeFile(join(top, '.gitignore'), `${rule}\n`)
    await ok(['init', '.', '--move'], sub)
    const config = join(sub, '.lora-tagger', 'config.yaml')
    await fsp.writeFile(config, (await readText(config)).replace('autoCommit: false', 'autoCommit: true'))
    return {top, sub}
  }

  it('captions in an output folder a .gitignore rule hides as a whole are each listed by `status` as not committed', async () => {
    const {sub} = await ignoredWithHistory('sub/output/')
    expect((await json(['status'], sub)).git).toEqual({uncommitted: ['img_0001.txt', 'img_0002.txt', 'img_0003.txt']})
  })

  it('captions a .gitignore rule hides from git are listed by `status` as not committed', async () => {
    const {top, sub} = await ignoredWithHistory('*.txt')
    expect((await json(['status'], sub)).git).toEqual({uncommitted: ['img_0001.txt', 'img_0002.txt', 'img_0003.txt']})
    // And a write refuses before changing anything.
    const before = await everything(top)
    const r = await run(['tag', '1', '--add', 'x'], sub)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: git ignores sub\/output\/tags\.txt \(rule "\*\.txt" in \.gitignore, line 1\)/u)
    expect(await everything(top)).toEqual(before)
  })

  it('no git identity: refused before the change (exit 1), nothing changed', async () => {
    const {top, ds} = await fresh()
    await git(top, ['config', 'user.useConfigOnly', 'true'])
    const before = await everything(top)
    const noIdentity = {
      GIT_AUTHOR_NAME: undefined,
      GIT_AUTHOR_EMAIL: undefined,
      GIT_COMMITTER_NAME: undefined,
      GIT_COMMITTER_EMAIL: undefined,
      EMAIL: undefined,
    }
    const r = await run(['tag', '1', '--add', 'red hair'], ds, noIdentity)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /^error: git has no identity to commit with \(.*\); nothing was changed\.\nhint: Tell git who you are: git config --global user\.name/u,
    )
    expect(await everything(top)).toEqual(before)
  })

  it('no git identity and no repository yet: `init --git` and `git enable` refuse before creating anything', async () => {
    const home = await tempDir('lora-gs-noid-')
    // Your global config says: never guess an identity from the host name (as on a machine without a mail domain).
    await fsp.writeFile(join(home, 'gitconfig'), '[user]\n\tuseConfigOnly = true\n')
    const noIdentity = {
      GIT_CONFIG_GLOBAL: join(home, 'gitconfig'),
      GIT_AUTHOR_NAME: undefined,
      GIT_AUTHOR_EMAIL: undefined,
      GIT_COMMITTER_NAME: undefined,
      GIT_COMMITTER_EMAIL: undefined,
      EMAIL: undefined,
    }
    const imgs = join(home, 'imgs')
    await copyFixtures(imgs, THREE)
    const before = await snapshot(imgs)
    const init = await run(['init', '.', '--git'], imgs, noIdentity)
    expect(init.code).toBe(1)
    expect(init.stderr).toMatch(/^error: git has no identity to commit with \(.*\); nothing was changed\./u)
    expect(await snapshot(imgs)).toEqual(before)
    await ok(['init', '.'], imgs)
    const made = await snapshot(imgs)
    const enable = await run(['git', 'enable'], imgs, noIdentity)
    expect(enable.code).toBe(1)
    expect(enable.stderr).toMatch(/^error: git has no identity to commit with/u)
    expect(await snapshot(imgs)).toEqual(made)
  })

  /** Asserts the saved-not-committed outcome of `lora tag 1 --add red hair` and returns the hinted command. */
  async function expectSavedNotCommitted(r: RunResult, top: string, ds: string, start: string): Promise<string> {
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: Saved, but not committed: git failed to commit: /u)
    expect(r.stderr).not.toMatch(/nothing was changed|changes nothing/u)
    const command = `git -C ${top} add -A -- sub/output sub/.lora-tagger && git -C ${top} commit -m 'tag img_0001: +red hair' -- sub/output sub/.lora-tagger`
    expect(r.stderr).toContain(
      `\nhint: The change is in the dataset files; only its commit is missing. Fix what git reports, then commit them with git: ${command}, or let the next lora change commit them with its own (its captions, tags.txt and .lora-tagger/; not the images it added).\n`,
    )
    expect(await caption(ds, 'img_0001')).toBe('red hair\n')
    expect(await head(top)).toBe(start)
    expect(fs.existsSync(join(ds, '.lora-tagger', 'lock'))).toBe(false)
    // status lists the caption as not committed.
    expect((await json(['status'], ds)).git).toEqual({uncommitted: ['img_0001.txt']})
    return command
  }

  it('commit.gpgsign without a key: "Saved, but not committed" with the git command; status lists it; the command commits it', async () => {
    const {top, ds} = await fresh()
    await stageReadme(top)
    const start = await head(top)
    await git(top, ['config', 'commit.gpgsign', 'true'])
    await git(top, ['config', 'user.signingkey', '0000000000000000DEAD'])
    const env = {GNUPGHOME: await tempDir('lora-gs-gnupg-')}
    const r = await run(['tag', '1', '--add', 'red hair'], ds, env)
    expect(r.stderr).toMatch(/gpg|sign/iu)
    const command = await expectSavedNotCommitted(r, top, ds, start)
    expect(await git(top, ['show', ':README'])).toBe('staged work in progress\n')
    // The hinted command commits the change once signing works (here: turned off).
    await git(top, ['config', 'commit.gpgsign', 'false'])
    const sh = await new Promise<number>((resolve) => {
      const child = spawn('sh', ['-c', command], {env: {...process.env, ...GIT_ENV}, stdio: 'ignore'})
      child.on('exit', (code) => resolve(code ?? -1))
    })
    expect(sh).toBe(0)
    expect(await subject(top)).toBe('tag img_0001: +red hair')
    expect((await json(['status'], ds)).git).toEqual({uncommitted: []})
    await expectReadmeStaged(top)
  })

  it('a refusing pre-commit hook of yours (core.hooksPath in your global config): the change is saved but not committed', async () => {
    const {top, ds} = await fresh()
    const start = await head(top)
    const {env} = await globalHooks({'pre-commit': '#!/bin/sh\necho "pre-commit: no" >&2\nexit 1\n'})
    const r = await run(['tag', '1', '--add', 'red hair'], ds, env)
    expect(r.stderr).toMatch(/pre-commit: no/u)
    await expectSavedNotCommitted(r, top, ds, start)
  })

  it('a hook refusing without a word is caught too; the hinted git command is quoted for the shell (a folder with a space, a subject with a quote)', async () => {
    const top = join(await tempDir('lora-gs-quote-'), 'my top')
    await fsp.cp(await template(), top, {recursive: true})
    const ds = join(top, 'sub')
    const hooks = await globalHooks({'pre-commit': '#!/bin/sh\nexit 1\n'})
    const r = await run(['tag', '1', '--add', "it's"], ds, hooks.env)
    expect(r.code).toBe(1)
    const command = /commit them with git: (.*), or let the next lora change/u.exec(r.stderr)?.[1]
    expect(command).toBe(
      `git -C '${top}' add -A -- sub/output sub/.lora-tagger && git -C '${top}' commit -m 'tag img_0001: +it'\\''s' -- sub/output sub/.lora-tagger`,
    )
    await fsp.rm(join(hooks.dir, 'pre-commit'))
    const code = await new Promise<number>((resolve) => {
      spawn('sh', ['-c', command!], {env: {...process.env, ...GIT_ENV}, stdio: 'ignore'}).on('exit', (c) =>
        resolve(c ?? -1),
      )
    })
    expect(code).toBe(0)
    expect(await subject(top)).toBe("tag img_0001: +it's")
    expect(await porcelain(top)).toBe('')
  })

  it('your own hooks run on lora commits (a commit-msg hook sees the message); git.verify: false skips them', async () => {
    const {top, ds} = await fresh()
    const marker = join(top, '.git', 'hook-ran')
    const {env, dir} = await globalHooks({'commit-msg': `#!/bin/sh\nhead -1 "$1" >> '${marker}'\n`})
    await ok(['tag', '1', '--add', 'a'], ds, env)
    expect(await readText(marker)).toBe('tag img_0001: +a\n')
    // git.verify: false: a refusing hook does not stop the commit, and no hook runs.
    await fsp.writeFile(join(dir, 'pre-commit'), '#!/bin/sh\nexit 1\n', {mode: 0o755})
    const config = join(ds, '.lora-tagger', 'config.yaml')
    await fsp.writeFile(
      config,
      (await readText(config)).replace('autoCommit: true', 'autoCommit: true\n  verify: false'),
    )
    await git(top, ['commit', '--quiet', '--no-verify', '-m', 'verify off', '--', 'sub/.lora-tagger/config.yaml'])
    await ok(['tag', '2', '--add', 'b'], ds, env)
    expect(await subject(top)).toBe('tag img_0002: +b')
    expect(await readText(marker)).toBe('tag img_0001: +a\n')
    expect(await porcelain(top)).toBe('')
  })
})

describe("a dataset is data, not code: a repository's own configuration and hooks run nothing", () => {
  /** What this test's own git commands pass so that they run none of the programs `armed` sets up. */
  const QUIET = [
    'core.fsmonitor=false',
    'core.hooksPath=/dev/null',
    'commit.gpgSign=false',
    'log.showSignature=false',
    'filter.evil.clean=',
    'filter.mine.clean=',
  ].flatMap((s) => ['-c', s])
  /** Sets up, in `top`'s own config and hooks folder, every program git would run; each touches `marks/<name>`. */
  async function armed(top: string): Promise<string> {
    const marks = await tempDir('lora-gs-marks-')
    const touch = (name: string): string => `touch '${join(marks, name)}'`
    await git(top, ['config', 'core.fsmonitor', `${touch('fsmonitor')}; false`])
    await git(top, ['config', 'filter.evil.clean', `${touch('clean')}; cat`])
    await git(top, ['config', 'filter.evil.smudge', `${touch('smudge')}; cat`])
    await git(top, ['config', 'filter.mine.clean', `${touch('mine-local')}; cat`])
    await git(top, ['config', 'gpg.program', `${touch('gpg')}; false`])
    await git(top, ['config', 'commit.gpgSign', 'true'])
    await git(top, ['config', 'log.showSignature', 'true'])
    for (const hook of ['pre-commit', 'commit-msg', 'post-commit', 'post-index-change'])
      await fsp.writeFile(join(top, '.git', 'hooks', hook), `#!/bin/sh\n${touch(hook)}\n`, {mode: 0o755})
    await fsp.writeFile(join(top, '.gitattributes'), '*.txt filter=evil\n*.json filter=mine\n')
    // This test's own git commands run none of them either.
    await git(top, [...QUIET, 'add', '.gitattributes'])
    await git(top, [...QUIET, 'commit', '--quiet', '-m', 'attributes'])
    return marks
  }

  it('fsmonitor, filters, gpg, signature checks and .git/hooks of the repository: no lora command runs one; your global filter still applies', async () => {
    const {top, ds} = await fresh()
    const marks = await armed(top)
    // Your own global config: a filter for *.json (as git-lfs's is), which the repository's own config redefines.
    const home = await tempDir('lora-gs-global-')
    await fsp.writeFile(
      join(home, 'gitconfig'),
      // Quoted: in a git config file an unquoted `;` starts a comment, which would leave `touch` alone as the filter.
      `[filter "mine"]\n\tclean = "touch '${join(marks, 'mine-global')}'; cat"\n`,
    )
    const env = {GIT_CONFIG_GLOBAL: join(home, 'gitconfig')}
    const start = await head(top)
    await ok(['status'], ds, env)
    await ok(['tag', '1', '--add', 'red hair'], ds, env)
    await ok(['tags', 'rename', 'red hair', 'blue hair'], ds, env)
    await ok(['log'], ds, env)
    await ok(['blame', '1'], ds, env)
    await ok(['undo'], ds, env)
    await ok(['status', '--rescan'], ds, env)
    // Only your filter ran (state.json is a *.json file); checked before this test's own git commands run any.
    expect((await fsp.readdir(marks)).sort()).toEqual(['mine-global'])
    // Every change was committed, unsigned, with the captions' own bytes.
    expect((await git(top, ['rev-list', '--count', `${start}..HEAD`])).trim()).toBe('3')
    expect(await git(top, ['show', 'HEAD:sub/output/img_0001.txt'])).toBe('red hair\n')
    // The filter is cat: what was committed is what is on disk.
    expect(await git(top, [...QUIET, 'status', '--porcelain'])).toBe('')
    expect(await git(top, [...QUIET, 'show', 'HEAD:sub/.lora-tagger/state.json'])).toBe(
      await readText(join(ds, '.lora-tagger', 'state.json')),
    )
  })

  it('a `.git` file or link leading to another repository, or a `core.worktree` outside: refused (exit 1), that repository untouched', async () => {
    const {top, ds} = await fresh()
    const start = await head(top)
    const before = await everything(top)
    const expectRefused = async (what: RegExp): Promise<void> => {
      for (const args of [['tag', '1', '--add', 'x'], ['log'], ['undo']]) {
        const r = await run(args, ds)
        expect(r.code).toBe(1)
        expect(r.stderr).toMatch(what)
        expect(r.stderr).toContain("lora keeps a dataset's history only in a repository of the dataset's own")
      }
      expect(await head(top)).toBe(start)
    }
    await fsp.writeFile(join(ds, '.git'), `gitdir: ${join(top, '.git')}\n`)
    await expectRefused(/sub\/\.git is not a folder/u)
    await fsp.rm(join(ds, '.git'))
    await fsp.symlink(join(top, '.git'), join(ds, '.git'))
    await expectRefused(/sub\/\.git is a symbolic link/u)
    await fsp.rm(join(ds, '.git'))
    await git(ds, ['init', '--quiet'])
    await git(ds, ['config', 'core.worktree', top])
    await expectRefused(/sub\/\.git is a repository whose work tree is .*\(core\.worktree\)/u)
    await fsp.rm(join(ds, '.git'), {recursive: true})
    const after = await everything(top)
    // The dataset's own files changed only by nothing: every command was refused before its change.
    expect(after).toEqual(before)
  })

  it('a FIFO where git reads a file (.git/config, HEAD, index, a .gitattributes or .gitignore): refused at once, naming it, nothing changed', async () => {
    const {top, ds} = await fresh()
    const start = await head(top)
    const before = await everything(top)
    // Files that exist (put back after) and files that do not (removed after).
    const places = [
      join(top, '.git', 'config'),
      join(top, '.git', 'HEAD'),
      join(top, '.git', 'index'),
      join(ds, 'output', '.gitattributes'),
      join(ds, '.lora-tagger', '.gitignore'),
      join(ds, '.gitignore'),
      join(top, '.gitattributes'),
    ]
    for (const place of places) {
      const saved = fs.existsSync(place) ? await fsp.readFile(place) : undefined
      await fsp.rm(place, {force: true})
      execFileSync('mkfifo', [place])
      for (const args of [['log'], ['status'], ['tag', '1', '--add', 'x']]) {
        // git would wait on the FIFO forever: a run still going after 20 s is killed, and fails here.
        const r = await lora(args, {cwd: ds, env: GIT_ENV, killAfterMs: 20_000})
        expect({place, args, signal: r.signal, code: r.code}).toEqual({place, args, signal: null, code: 1})
        expect(r.stderr).toBe(
          `error: ${fs.realpathSync(place)} is a FIFO (named pipe), where git reads a regular file: git would open it and could wait on it forever; nothing was changed.\n` +
            'hint: A dataset from elsewhere may hold one: replace it with a regular file or remove it, then rerun; lora runs no git command on this repository until then.\n',
        )
      }
      expect((await fsp.lstat(place)).isFIFO()).toBe(true)
      await fsp.rm(place)
      if (saved) await fsp.writeFile(place, saved)
    }
    expect(await head(top)).toBe(start)
    expect(await everything(top)).toEqual(before)
  }, 120_000)

  /** The error of a FIFO at `place` where git reads a regular file (checkGitReads, checkGitReadsBelow). */
  const fifoRefused = (place: string): string =>
    `error: ${fs.realpathSync(place)} is a FIFO (named pipe), where git reads a regular file: git would open it and could wait on it forever; nothing was changed.\n` +
    'hint: A dataset from elsewhere may hold one: replace it with a regular file or remove it, then rerun; lora runs no git command on this repository until then.\n'
  /** Runs lora in `cwd`; a run still going after 20 s (git waiting on a FIFO) is killed, and fails the test. */
  const runKilled = (args: string[], cwd: string): Promise<RunResult> =>
    lora(args, {cwd, env: GIT_ENV, killAfterMs: 20_000})

  it('a FIFO .gitignore or .gitattributes in a subfolder that git add or status walks (output/, .lora-tagger/, a folder named with a line break): refused at once, naming it, nothing changed', async () => {
    const {top, ds} = await fresh()
    // A file in each subfolder: git reads a folder's .gitattributes when it stages a file there.
    const places: [string, string[][]][] = [
      [join(ds, 'output', 'extra', '.gitignore'), [['tag', '1', '--add', 'x'], ['status']]],
      [join(ds, 'output', 'extra', 'deeper', '.gitattributes'), [['tag', '1', '--add', 'x'], ['undo']]],
      [join(ds, 'output', 'a\nb', '.gitignore'), [['status']]],
      [join(ds, '.lora-tagger', 'extra', '.gitignore'), [['tag', '1', '--add', 'x']]],
    ]
    for (const [place] of places) {
      await fsp.mkdir(join(place, '..'), {recursive: true})
      await fsp.writeFile(join(place, '..', 'notes.md'), 'notes\n')
    }
    await git(top, ['add', '-A'])
    await git(top, ['commit', '--quiet', '-m', 'subfolders'])
    const start = await head(top)
    const before = await everything(top)
    for (const [place, commands] of places) {
      execFileSync('mkfifo', [place])
      for (const args of commands) {
        const r = await runKilled(args, ds)
        expect({place, args, signal: r.signal, code: r.code, stderr: r.stderr}).toEqual({
          place,
          args,
          signal: null,
          code: 1,
          stderr: fifoRefused(place),
        })
      }
      await fsp.rm(place)
    }
    expect(await head(top)).toBe(start)
    expect(await everything(top)).toEqual(before)
  }, 120_000)

  it('a FIFO .gitignore in a folder of originals: `git enable` and `init --git` refuse before changing anything, naming it', async () => {
    const dir = await tempDir('lora-gs-fifo-orig-')
    await copyFixtures(join(dir, 'photos', 'sub'), THREE)
    await ok(['init', '.', '--recursive'], dir)
    const place = join(dir, 'photos', 'sub', '.gitignore')
    const before = await snapshot(dir)
    execFileSync('mkfifo', [place])
    const enable = await runKilled(['git', 'enable'], dir)
    expect({signal: enable.signal, code: enable.code, stderr: enable.stderr}).toEqual({
      signal: null,
      code: 1,
      stderr: fifoRefused(place),
    })
    expect(fs.existsSync(join(dir, '.git'))).toBe(false)
    await fsp.rm(place)
    expect(await snapshot(dir)).toEqual(before)

    const fresh2 = await tempDir('lora-gs-fifo-init-')
    await copyFixtures(join(fresh2, 'photos', 'sub'), THREE)
    const before2 = await snapshot(fresh2)
    execFileSync('mkfifo', [join(fresh2, 'photos', 'sub', '.gitignore')])
    const init = await runKilled(['init', '.', '--recursive', '--git'], fresh2)
    expect({signal: init.signal, code: init.code, stderr: init.stderr}).toEqual({
      signal: null,
      code: 1,
      stderr: fifoRefused(join(fresh2, 'photos', 'sub', '.gitignore')),
    })
    await fsp.rm(join(fresh2, 'photos', 'sub', '.gitignore'))
    expect(await snapshot(fresh2)).toEqual(before2)
  }, 60_000)
})

describe('a commit is data: its subject cannot forge commits or trailers in log, blame and undo', () => {
  it("a subject holding git log's separator bytes (a forged undo of a real change; a forged hash, date, author): log, blame and undo read the real commits", async () => {
    const {top, ds} = await fresh()
    await ok(['tag', '1', '--add', 'red hair'], ds)
    const tagged = await head(top)
    // A hand commit adding a tag to another image, whose subject forges, in the fixed marks lora used: an undo of the
    // tag commit (which hid it from lora undo), then a whole commit record (hash, date, author) taking its diff.
    await fsp.writeFile(join(ds, 'output', 'img_0002.txt'), 'purple\n')
    await git(top, ['add', 'sub/output/img_0002.txt'])
    const forged =
      `y\u001fundo\u001f${tagged}\u001eCOMMIT\u001f${'1'.repeat(40)}\u001f2001-01-01T00:00:00+00:00` +
      '\u001fLinus Torvalds\u001fsigned-off release'
    await git(top, ['commit', '--quiet', '-m', forged])
    const hand = await head(top)
    const log = await json(['log'], ds)
    expect(log.events.map((e: {commit: string; author: string}) => [e.commit, e.author])).toEqual([
      [hand, 'Lora Tester'],
      [tagged, 'Lora Tester'],
    ])
    // The forged fields stay in the subject, where they were written.
    expect(log.events[0].subject).toBe(forged)
    const blame = await json(['blame', '2'], ds)
    expect(blame.tags.map((t: {tag: string; commit: string}) => [t.tag, t.commit])).toEqual([['purple', hand]])
    // The tag commit is not taken for undone: undo undoes it, the newest lora change.
    const undo = await run(['undo'], ds)
    expect([undo.code, undo.stderr]).toEqual([0, expect.stringContaining('Undid')])
    expect(await git(top, ['log', '-1', '--format=%s'])).toBe(`undo ${tagged.slice(0, 7)}: tag img_0001: +red hair\n`)
  })
})
