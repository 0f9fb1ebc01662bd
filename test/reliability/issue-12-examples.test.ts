/**
 * Issue 12 ("Trust"), its "Done when": every example of the issue is a test in test/reliability. This file holds the
 * examples whose test lived only under test/commands, in-process (test/in-process.ts `loraIn`, the built CLI in
 * dist/: `npm run build` first) since none needs a process of its own. Each asserts the exit code, the message, and
 * that the originals and the files outside the dataset are byte-identical (sha256) afterwards.
 *
 * Where each example of the issue is tested (file — test name):
 *
 * | issue example | test |
 * | --- | --- |
 * | Data loss: `undo` that conflicts ran `git revert --abort`, resetting staged work outside | this file — "undo that conflicts …"; test/reliability/undo-failpoints.test.ts — "ends all-old or all-new …" (kills) |
 * | Data loss: `export L --force`, L a link to `output/` | containment.test.ts — "export L --force, L a symbolic link to the output folder after init --move …" |
 * | Data loss: `export <the dataset folder> --force` | containment.test.ts — "export <the dataset folder> --force: exit 2, the originals untouched" |
 * | Data loss: `export .lora-tagger/state.json --format json --force` | containment.test.ts — "export .lora-tagger/state.json --format json --force: exit 2, the state unchanged" |
 * | Data loss: `--caption-ext .jpg` (flag or config): init --move half-way, tag overwrote an image | this file — "--caption-ext .jpg …" |
 * | Data loss: Latin-1 / UTF-16 captions adopted as mangled text, written back by `tag` | this file — "non-UTF-8 captions …" |
 * | Security: a state record `../../victim/notes.png` (tag, export --force) | containment.test.ts — "a state record with file "../../victim/notes.png" …" |
 * | Security: a committed `viewer:` ran on `lora next` in a clone | this file — "a committed viewer …"; test/commands/trust-viewer.test.ts — "a cloned dataset whose committed config names a viewer (pseudo-terminal)" |
 * | Security: caption symlinks followed (tags, exports, tag writes, init adopts) | containment.test.ts — "a caption that is a link to a secret …", "init does not adopt a symbolic link photo.txt …" |
 * | Security: raw ESC/BEL/NUL/bidi from tags, names, git text; `validate` silent | hostile-terminal.test.ts — "status (fast path and oclif), tags, next --print, and JSON", "log and blame …"; this file — "validate reports control characters" |
 * | Hangs: a FIFO caption hangs tag/export/status --rescan/init; `/dev/zero` aborts node | containment.test.ts — "a caption that is a FIFO …", "a caption linked to /dev/zero …" |
 * | Hangs: `init --link`/`--copy` with output on another file system; a journal replayed forever | cross-device.test.ts — "`init --link`: refused before anything …", "`init --copy` and `init --move` work across file systems …", "an old journal whose image steps are cross-device hard links …" |
 * | Stuck: a parent `.gitignore` ignoring `.lora-tagger/` | this file — "a parent .gitignore …", "global excludes …" |
 * | Stuck: `commit.gpgsign` without a key, or a failing hook: "changes nothing" but written; `--no-verify` undocumented | this file — "commit.gpgsign without a key …", "a failing pre-commit hook …" |
 * | Stuck: an output image deleted, replaced, a FIFO or a link, unnoticed; export ENOENT / stale CSV / `/dev/zero` exported | hostile-files-changed.test.ts — "a FIFO and a /dev/zero symlink in place of output images"; this file — "an output image deleted or replaced …" |
 * | Stuck: `state.json` missing, the hint said `lora init` | this file — "state.json missing …" |
 * | Stuck: SIGINT/SIGTERM during `init --move` / `tag --all` exit 130 silently | interrupts.test.ts — "finishes moving every image, says so, exits …", "SIGTERM during `lora tag --all` …" |
 * | Crash: a caption, `tags.txt` or `output` of the wrong type, a `journal.json` of the wrong shape: "unexpected" | hand-made-errors.test.ts — "lora … : exit …, names the file, gives a hint, never "unexpected""; containment.test.ts — "an output that is a regular file or a FIFO is named, not "unexpected" …" |
 * | `lora undo` twice repeated the same line; undo of a commit touching a file outside staged it silently | this file — "undo twice …", "undo of a commit that also changed a file outside …" |
 */
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {copyFixtures, GOOD_FIXTURES, makeTemp, removeTemp} from '../helpers.js'
import {snapshot} from '../e2e/e2e-helpers.js'
import {GIT_ENV, git, gitRaw, globalHooks} from '../git-helpers.js'
import {loraIn} from '../in-process.js'
import type {RunResult} from '../helpers.js'

const THREE = GOOD_FIXTURES.slice(0, 3)
const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

/** `lora` in-process with the fixed git identity and no global git config. */
const run = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
  loraIn(args, {cwd, env: {...GIT_ENV, ...env}})
async function ok(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const r = await run(args, cwd, env)
  if (r.code !== 0) throw new Error(`lora ${args.join(' ')} exited ${r.code}\n${r.stderr}`)
  return r
}

/**
 * A temp folder holding `imgs/` (three fixture photos) and `outside/` (a file that is no part of any dataset); the
 * sha256 of everything there is compared by `untouched`.
 */
async function place(): Promise<{base: string; imgs: string; outside: string}> {
  const base = await makeTemp('lora-i12-')
  temps.push(base)
  const imgs = join(base, 'imgs')
  await copyFixtures(imgs, THREE)
  const outside = join(base, 'outside')
  await fsp.mkdir(outside)
  await fsp.writeFile(join(outside, 'notes.txt'), 'the user’s own notes\n')
  return {base, imgs, outside}
}

/** Every file below `dir` with its sha256, `.git/` left out (git keeps its own index). */
async function files(dir: string): Promise<Record<string, string>> {
  return Object.fromEntries(Object.entries(await snapshot(dir)).filter(([k]) => !/(^|\/)\.git(\/|$)/u.test(k)))
}
/** The originals: image files directly in `imgs`. */
async function originals(imgs: string): Promise<Record<string, string>> {
  return Object.fromEntries(Object.entries(await snapshot(imgs)).filter(([k]) => THREE.includes(k)))
}

// ---------------------------------------------------------------------------------------------------------------

describe('data loss seen', () => {
  /** A repository `top` with a committed README, the dataset (init --git --move) in `top/sub`. */
  async function repo(): Promise<{top: string; ds: string; base: string}> {
    const base = await makeTemp('lora-i12-git-')
    temps.push(base)
    const top = join(base, 'top')
    await fsp.mkdir(top)
    await git(top, ['init', '--quiet'])
    await fsp.writeFile(join(top, 'README'), 'committed\n')
    await git(top, ['add', 'README'])
    await git(top, ['commit', '--quiet', '-m', 'readme'])
    const ds = join(top, 'sub')
    await copyFixtures(ds, THREE)
    await ok(['init', '.', '--git', '--move'], ds)
    return {top, ds, base}
  }

  it('undo that conflicts: exit 1 naming the image and the later commit; the staged README outside stays staged and byte-identical', async () => {
    const {top, ds} = await repo()
    await ok(['tag', '1', '--add', 'a'], ds)
    const first = (await git(top, ['rev-parse', 'HEAD'])).trim()
    await ok(['tag', '1', '--add', 'b'], ds)
    const later = (await git(top, ['rev-parse', 'HEAD'])).trim()
    await fsp.writeFile(join(top, 'README'), 'staged work\n')
    await git(top, ['add', 'README'])
    const before = {files: await files(top), staged: await git(top, ['diff', '--cached', '--binary'])}
    const r = await run(['undo', first.slice(0, 7)], ds)
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `error: Cannot undo ${first.slice(0, 7)} "tag img_0001: +a": img_0001 was changed again later, by ${later.slice(0, 7)} "tag img_0001: +b". Nothing was changed.\n` +
        `hint: Undo the later change first (lora undo ${later.slice(0, 7)}), then this one; or edit the caption by hand (lora tag img_0001 --set "...").\n`,
    )
    expect({files: await files(top), staged: await git(top, ['diff', '--cached', '--binary'])}).toEqual(before)
    expect(await git(top, ['show', ':README'])).toBe('staged work\n')
    expect(fs.existsSync(join(top, '.git', 'REVERT_HEAD'))).toBe(false)
  })

  it('undo twice: the second undoes the next older change; `undo X` of an undone X says so (exit 1); nothing outside changes', async () => {
    const {top, ds} = await repo()
    await ok(['tag', '1', '--add', 'a'], ds)
    const a = (await git(top, ['rev-parse', 'HEAD'])).trim()
    await ok(['tag', '2', '--add', 'b'], ds)
    await fsp.writeFile(join(top, 'README'), 'staged work\n')
    await git(top, ['add', 'README'])
    const readme = (await files(top)).README
    expect((await ok(['undo'], ds)).stderr).toMatch(/^Undid [0-9a-f]{7} "tag img_0002: \+b"/u)
    expect((await ok(['undo'], ds)).stderr).toMatch(/^Undid [0-9a-f]{7} "tag img_0001: \+a"/u)
    const undoA = (await git(top, ['rev-parse', 'HEAD'])).trim()
    const again = await run(['undo', a.slice(0, 7)], ds)
    expect(again.code).toBe(1)
    expect(again.stderr).toBe(
      `error: ${a.slice(0, 7)} "tag img_0001: +a" is already undone, by ${undoA.slice(0, 7)} "undo ${a.slice(0, 7)}: tag img_0001: +a"; nothing was changed.\n` +
        `hint: To bring it back, undo the undo: lora undo ${undoA.slice(0, 7)}. To undo the next older change instead: lora undo.\n`,
    )
    expect((await git(top, ['rev-parse', 'HEAD'])).trim()).toBe(undoA)
    const none = await run(['undo'], ds)
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(
      /^error: Nothing left to undo: the next older lora change, [0-9a-f]{7} "lora: init — 3 images", is where this history of the images starts/u,
    )
    expect((await files(top)).README).toBe(readme)
    expect(await git(top, ['show', ':README'])).toBe('staged work\n')
  })

  it('undo of a commit that also changed a file outside the dataset: only the dataset part is undone, and said; the outside file stays', async () => {
    const {top, ds} = await repo()
    await fsp.writeFile(join(ds, 'output', 'img_0001.txt'), 'by hand\n')
    await fsp.writeFile(join(top, 'README'), 'changed with the caption\n')
    await git(top, ['add', '-A'])
    await git(top, ['commit', '--quiet', '-m', 'tag by hand', '--trailer', 'Lora-Change: tag'])
    const commit = (await git(top, ['rev-parse', 'HEAD'])).trim()
    const readme = (await files(top)).README
    const r = await ok(['undo', commit.slice(0, 7)], ds)
    expect(r.stderr).toMatch(
      /\n[0-9a-f]{7} also changed files lora does not keep \(outside the output folder and \.lora-tagger\/\); those are left as they are: README\.\n/u,
    )
    expect(await fsp.readFile(join(ds, 'output', 'img_0001.txt'), 'utf8')).toBe('')
    expect((await files(top)).README).toBe(readme)
    expect(await git(top, ['diff', '--cached', '--name-only'])).toBe('')
    expect(await git(top, ['show', '--name-only', '--format=', 'HEAD'])).not.toContain('README')
  })

  it('--caption-ext .jpg: `init --move` refuses before moving anything (exit 2); a config saying .jpg: `tag` refuses (exit 1), no image overwritten', async () => {
    const {imgs, outside} = await place()
    const before = {imgs: await snapshot(imgs), outside: await snapshot(outside)}
    const init = await run(['init', '.', '--move', '--caption-ext', '.jpg'], imgs)
    expect(init.code).toBe(2)
    expect(init.stderr).toBe(
      "error: --caption-ext .jpg: .jpg is an image extension: caption files would collide with the images.\nhint: Use .txt (kohya_ss GUI, ai-toolkit, CivitAI) or .caption (sd-scripts' default).\n",
    )
    expect({imgs: await snapshot(imgs), outside: await snapshot(outside)}).toEqual(before)

    await ok(['init', '.', '--move'], imgs)
    const config = join(imgs, '.lora-tagger', 'config.yaml')
    await fsp.writeFile(
      config,
      (await fsp.readFile(config, 'utf8')).replace('captionExtension: .txt', 'captionExtension: .jpg'),
    )
    const dataset = await snapshot(imgs)
    const tag = await run(['tag', '1', '--add', 'overwrite me'], imgs)
    expect(tag.code).toBe(1)
    expect(tag.stderr).toMatch(
      /^error: Bad value for "captionExtension" in \.lora-tagger\/config\.yaml: \.jpg is an image extension: caption files would collide with the images\.\n/u,
    )
    expect(await snapshot(imgs)).toEqual(dataset)
    expect(await snapshot(outside)).toEqual(before.outside)
  })

  it('non-UTF-8 captions: `init` and `status --rescan` never adopt Latin-1 as mangled text, `tag` refuses to write it; its bytes stay', async () => {
    const {imgs, outside} = await place()
    const latin1 = Buffer.from('caf\xe9, sky\n', 'latin1')
    const stem = THREE[0].replace(/\.[^.]+$/u, '')
    await fsp.writeFile(join(imgs, `${stem}.txt`), latin1)
    const before = {originals: await originals(imgs), outside: await snapshot(outside)}
    const init = await run(['init', '.', '--json'], imgs)
    expect(init.code).toBe(0)
    const summary = JSON.parse(init.stdout) as {problems: {source: string; reason: string}[]}
    expect(summary.problems).toEqual([
      {
        source: THREE[0],
        reason: expect.stringContaining(
          `is not UTF-8 text (Latin-1 or another legacy encoding?); not imported: convert it to UTF-8, e.g. \`iconv -f latin1 -t utf-8 ${stem}.txt`,
        ) as string,
      },
    ])
    expect(await fsp.readFile(join(imgs, `${stem}.txt`))).toEqual(latin1)

    // A caption in the output folder made Latin-1 by hand: --rescan lists it, tag refuses, its bytes stay.
    const caption = join(imgs, 'output', 'img_0001.txt')
    await fsp.writeFile(caption, latin1)
    const rescan = await run(['status', '--rescan', '--json'], imgs)
    expect(rescan.code).toBe(0)
    expect(rescan.stdout).toContain('iconv -f latin1 -t utf-8')
    const tag = await run(['tag', '1', '--add', 'red hair'], imgs)
    expect(tag.code).toBe(1)
    expect(tag.stderr).toMatch(
      /^error: A caption is not UTF-8 or UTF-16 text: img_0001 \(output\/img_0001\.txt is not UTF-8 text/u,
    )
    expect(tag.stderr).toContain('iconv -f latin1 -t utf-8')
    expect(await fsp.readFile(caption)).toEqual(latin1)
    // Copy mode: every original stays, the one not imported included.
    expect({originals: await originals(imgs), outside: await snapshot(outside)}).toEqual(before)
  })
})

// ---------------------------------------------------------------------------------------------------------------

describe('security seen', () => {
  it('a committed viewer ("touch PWNED; true") in a clone is never run: ignored with a warning naming where a viewer belongs', async () => {
    const {imgs, outside, base} = await place()
    await ok(['init', '.', '--git'], imgs)
    const config = join(imgs, '.lora-tagger', 'config.yaml')
    const marker = join(outside, 'PWNED')
    await fsp.appendFile(config, `viewer: "touch ${marker}; true"\n`)
    await git(imgs, ['commit', '--quiet', '-am', 'a viewer for everyone'])
    const clone = join(base, 'clone')
    await git(base, ['clone', '--quiet', imgs, clone])
    const before = await snapshot(outside)
    // In-process: the choice `lora next` and `resume` make (the pty run is in test/commands/trust-viewer.test.ts).
    const {openDataset} = await import('../../src/store/dataset.js')
    const {chooseViewer} = await import('../../src/services/viewer-choice.js')
    const choice = await chooseViewer(await openDataset(clone), {env: {HOME: base, XDG_CONFIG_HOME: join(base, 'xdg')}})
    // No display here: `auto` draws inline and runs no program (null would be the system viewer).
    expect(choice.command).toBe('none')
    expect(choice.warning).toBe(
      `ignoring "viewer" in .lora-tagger/config.yaml: a dataset cannot choose a program to run; put your viewer in ${join(base, 'xdg', 'lora', 'config.yaml')} (viewer: CMD), LORA_VIEWER, or --viewer.`,
    )
    // And `lora next` without a terminal runs nothing either.
    const next = await run(['next'], clone)
    expect(next.code).not.toBe(0)
    expect(fs.existsSync(marker)).toBe(false)
    expect(await snapshot(outside)).toEqual(before)
  })

  it('validate reports control characters in captions (rule control-character, exit 4), escaped', async () => {
    const {imgs} = await place()
    await ok(['init', '.'], imgs)
    await fsp.writeFile(join(imgs, 'output', 'img_0001.txt'), 'red hair, \u001b]52;c;cHduZWQ=\u0007smile\n')
    const r = await run(['validate'], imgs)
    expect(r.code).toBe(4)
    expect(r.stdout).toContain('img_0001.txt holds a control character (U+001B, shown as \\x1b) on line 1.')
    expect(r.stdout).not.toContain('\u001b]52')
  })
})

// ---------------------------------------------------------------------------------------------------------------

describe('hangs, crashes, stuck datasets seen', () => {
  it('a parent .gitignore ignoring .lora-tagger/: `init --git` refuses before creating anything (exit 1)', async () => {
    const base = await makeTemp('lora-i12-ign-')
    temps.push(base)
    await git(base, ['init', '--quiet'])
    await fsp.writeFile(join(base, '.gitignore'), '.lora-tagger/\n')
    await git(base, ['add', '.gitignore'])
    await git(base, ['commit', '--quiet', '-m', 'ignore'])
    const sub = join(base, 'sub')
    await copyFixtures(sub, THREE)
    const before = await files(base)
    const r = await run(['init', '.', '--git', '--move'], sub)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /^error: git ignores sub\/\.lora-tagger\/state\.json \(rule "\.lora-tagger\/" in \.gitignore, line 1\), so this dataset's changes cannot be committed; nothing was changed\.\nhint: /u,
    )
    expect(await files(base)).toEqual(before)
    expect(fs.existsSync(join(sub, '.lora-tagger'))).toBe(false)
  })

  it('global excludes (core.excludesFile) ignoring .lora-tagger/, no repository yet: `init --git` refuses before creating anything', async () => {
    const {base, imgs, outside} = await place()
    const home = join(base, 'home')
    await fsp.mkdir(home)
    await fsp.writeFile(join(home, 'ignore'), '.lora-tagger/\n')
    await fsp.writeFile(join(home, '.gitconfig'), `[core]\n\texcludesFile = ${join(home, 'ignore')}\n`)
    const env = {HOME: home, XDG_CONFIG_HOME: join(base, 'xdg'), GIT_CONFIG_GLOBAL: undefined}
    const before = {imgs: await snapshot(imgs), outside: await snapshot(outside), home: await snapshot(home)}
    const r = await run(['init', '.', '--git', '--move'], imgs, env)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /^error: git ignores \.lora-tagger\/state\.json \(rule "\.lora-tagger\/" in .*\/home\/ignore, line 1\), so this dataset's changes cannot be committed; nothing was changed\.\n/u,
    )
    expect({imgs: await snapshot(imgs), outside: await snapshot(outside), home: await snapshot(home)}).toEqual(before)
    expect(fs.existsSync(join(imgs, '.git'))).toBe(false)
  })

  it('commit.gpgsign without a key: "Saved, but not committed" (exit 1, never "changes nothing"), status lists the caption', async () => {
    const {imgs, outside, base} = await place()
    await ok(['init', '.', '--git'], imgs)
    await git(imgs, ['config', 'commit.gpgsign', 'true'])
    await git(imgs, ['config', 'user.signingkey', '0000000000000000DEAD'])
    const head = (await git(imgs, ['rev-parse', 'HEAD'])).trim()
    const before = {originals: await originals(imgs), outside: await snapshot(outside)}
    const r = await run(['tag', '1', '--add', 'red hair'], imgs, {GNUPGHOME: join(base, 'gnupg')})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: Saved, but not committed: git failed to commit: /u)
    expect(r.stderr).not.toMatch(/nothing was changed|changes nothing/u)
    expect(r.stderr).toContain(`commit -m 'tag img_0001: +red hair' -- output .lora-tagger`)
    expect(await fsp.readFile(join(imgs, 'output', 'img_0001.txt'), 'utf8')).toBe('red hair\n')
    expect((await git(imgs, ['rev-parse', 'HEAD'])).trim()).toBe(head)
    const status = JSON.parse((await ok(['status', '--json'], imgs)).stdout) as {git: {uncommitted: string[]}}
    expect(status.git).toEqual({uncommitted: ['img_0001.txt']})
    expect({originals: await originals(imgs), outside: await snapshot(outside)}).toEqual(before)
  })

  it('a failing pre-commit hook of yours runs by default (saved, not committed); git.verify: false skips it', async () => {
    const {imgs, outside} = await place()
    await ok(['init', '.', '--git'], imgs)
    // Your hooks: those of a global core.hooksPath. The repository's own .git/hooks never run (README "Safety
    // model": a .git may come with a dataset from a stranger; test/commands/git-safety.test.ts).
    const hooks = await globalHooks({'pre-commit': '#!/bin/sh\necho "pre-commit: no" >&2\nexit 1\n'})
    const before = await snapshot(outside)
    const r = await run(['tag', '1', '--add', 'red hair'], imgs, hooks.env)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: Saved, but not committed: .*pre-commit: no/su)
    const config = join(imgs, '.lora-tagger', 'config.yaml')
    await fsp.writeFile(
      config,
      (await fsp.readFile(config, 'utf8')).replace('autoCommit: true', 'autoCommit: true\n  verify: false'),
    )
    await ok(['tag', '2', '--add', 'smile'], imgs, hooks.env)
    expect((await git(imgs, ['log', '-1', '--format=%s'])).trim()).toBe('tag img_0002: +smile')
    expect(await snapshot(outside)).toEqual(before)
  })

  it('an output image deleted or replaced by hand: status lists it, next --print passes over it, export refuses (exit 1) writing nothing, init reports it', async () => {
    const {imgs, outside, base} = await place()
    await ok(['init', '.'], imgs)
    await ok(['tag', '2', '3', '--add', 'sky'], imgs)
    // A pending image deleted, a tagged one replaced, a tagged one deleted.
    await fsp.rm(join(imgs, 'output', 'img_0001.jpg'))
    await fsp.writeFile(join(imgs, 'output', 'img_0002.jpg'), 'not the image any more')
    await fsp.rm(join(imgs, 'output', 'img_0003.jpg'))
    const before = {originals: await originals(imgs), outside: await snapshot(outside)}
    const status = JSON.parse((await ok(['status', '--json'], imgs)).stdout) as {missing: string[]; changed: string[]}
    expect(status.missing).toEqual(['img_0001', 'img_0003'])
    expect(status.changed).toEqual(['img_0002'])
    const next = await ok(['next', '--print'], imgs)
    expect(next.stdout).toBe('')
    expect(next.stderr).toBe(
      'warning: Passed over 1 pending image whose file is missing: img_0001 (gone). `lora status` lists it.\n',
    )
    const dest = join(base, 'train')
    const exp = await run(['export', dest], imgs)
    expect(exp.code).toBe(1)
    expect(exp.stderr).toBe(
      'error: 2 images in output/ are missing or changed since lora recorded them: img_0002 (changed: size 33026 → 22 bytes), img_0003 (missing: gone). Nothing was exported.\n' +
        'hint: Restore them (git checkout, or copy the original back under the same name); for a change you meant, `lora status --rescan` takes it in; or add --skip-missing to export the others.\n',
    )
    expect(fs.existsSync(dest)).toBe(false)
    const rerun = await run(['init', '.', '--json'], imgs)
    expect(rerun.code).toBe(0)
    expect(JSON.parse(rerun.stdout)).toMatchObject({added: [], missing: ['img_0001', 'img_0003']})
    expect(fs.existsSync(join(imgs, 'output', 'img_0001.jpg'))).toBe(false)
    expect({originals: await originals(imgs), outside: await snapshot(outside)}).toEqual(before)
  })

  it('state.json missing: every command points to `lora repair` (never `lora init`), which rebuilds it', async () => {
    const {imgs, outside} = await place()
    await ok(['init', '.'], imgs)
    await ok(['tag', '1', '--add', 'sky'], imgs)
    await fsp.rm(join(imgs, '.lora-tagger', 'state.json'))
    const before = {originals: await originals(imgs), outside: await snapshot(outside)}
    for (const args of [['status'], ['tag', '2', '--add', 'x'], ['next', '--print'], ['init', '.']]) {
      const r = await run(args, imgs)
      expect({args, code: r.code}).toEqual({args, code: 1})
      expect(r.stderr).toMatch(/^error: \.lora-tagger\/state\.json is missing.*\nhint: .*lora repair/u)
      expect(r.stderr).not.toMatch(/hint: Run `?lora init/iu)
    }
    const repair = JSON.parse((await ok(['repair', '--json'], imgs)).stdout) as {cause: string; repaired: boolean}
    expect(repair).toMatchObject({cause: 'missing', repaired: true})
    const status = JSON.parse((await ok(['status', '--json'], imgs)).stdout) as {
      images: {total: number; tagged: number}
    }
    expect(status.images).toMatchObject({total: 3, tagged: 1})
    expect({originals: await originals(imgs), outside: await snapshot(outside)}).toEqual(before)
  })

  it('a caption that is a FIFO never blocks a command in-process either (tag refuses naming it, the lock is released)', async () => {
    const {imgs, outside} = await place()
    await ok(['init', '.'], imgs)
    await fsp.rm(join(imgs, 'output', 'img_0001.txt'))
    execFileSync('mkfifo', [join(imgs, 'output', 'img_0001.txt')])
    const before = await snapshot(outside)
    const r = await run(['tag', '1', '--add', 'x'], imgs)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: output\/img_0001\.txt is a FIFO \(named pipe\), not a regular caption file/u)
    expect(fs.existsSync(join(imgs, '.lora-tagger', 'lock'))).toBe(false)
    expect(await snapshot(outside)).toEqual(before)
    expect((await gitRaw(imgs, ['status'])).code).not.toBe(0) // not a repository: nothing of git was involved
  })
})
