/**
 * Dataset history, the pure part (src/core/commit-message.ts): the commit subjects and trailers lora writes, and the
 * tag-level history read back from `git log -p` output. parseLog and tagEvents are fed the real output of git on
 * real temp repositories (new, modified and deleted captions, file names with spaces and non-ASCII letters), run
 * with the same arguments lora uses (services/history.ts).
 */
import {execFileSync} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {
  commitMessage,
  type ImageChange,
  logFormat,
  type LoggedCommit,
  parseLog,
  skipChanges,
  tagEvents,
  tagSubject,
  TRAILER_CHANGE,
  TRAILER_IMAGES,
  TRAILER_UNDOES,
} from '../../src/core/commit-message.js'
import {makeTemp, removeTemp} from '../helpers.js'

const MINUS = '\u2212'

/** Git with a fixed identity, and none of the machine's configuration. */
const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Unit Author',
  GIT_AUTHOR_EMAIL: 'unit.author@example.com',
  GIT_COMMITTER_NAME: 'Unit Committer',
  GIT_COMMITTER_EMAIL: 'unit.committer@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
}

function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync('git', args, {
    cwd,
    env: {...GIT_ENV, ...env},
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** The mark of this file's `git log` runs (services/history.ts chooses one at random for each run). */
const MARK = '0123abcd4567ef89'
const parsed = (text: string) => parseLog(text, MARK)

/** `git log` exactly as lora runs it for `lora log` (services/history.ts logText). */
function loraLogText(cwd: string, pathspecs: string[] = []): string {
  return git(cwd, [
    '-c',
    'core.quotePath=false',
    'log',
    `--format=${logFormat(MARK)}`,
    '-p',
    '--unified=0',
    '--no-color',
    '--no-ext-diff',
    '--no-renames',
    '--',
    ...pathspecs,
  ])
}

const temps: string[] = []
afterAll(async () => {
  for (const dir of temps.splice(0)) await removeTemp(dir)
})

async function newRepo(): Promise<string> {
  const dir = await makeTemp('lora-history-unit-')
  temps.push(dir)
  git(dir, ['init', '--quiet'])
  return dir
}

async function write(dir: string, path: string, text: string): Promise<void> {
  await fsp.mkdir(join(dir, path, '..'), {recursive: true})
  await fsp.writeFile(join(dir, path), text)
}

function commitAll(dir: string, message: string, env: NodeJS.ProcessEnv = {}): string {
  git(dir, ['add', '-A'], env)
  git(dir, ['commit', '--quiet', '--allow-empty', '-m', message], env)
  return git(dir, ['rev-parse', 'HEAD']).trim()
}

const change = (
  id: string,
  added: string[],
  removed: string[] = [],
  extra: Partial<ImageChange> = {},
): ImageChange => ({id, added, removed, ...extra})

describe('tagSubject', () => {
  it('one image: `tag img_0042: +red hair +smile −hat`, removals with U+2212 MINUS SIGN', () => {
    const subject = tagSubject([change('img_0042', ['red hair', 'smile'], ['hat'])])
    expect(subject).toBe('tag img_0042: +red hair +smile \u2212hat')
    expect(subject).toContain(`${MINUS}hat`)
    expect(subject).not.toContain('-hat')
  })

  it('one image, only additions or only removals', () => {
    expect(tagSubject([change('img_0001', ['solo'])])).toBe('tag img_0001: +solo')
    expect(tagSubject([change('img_0001', [], ['hat', 'long hair'])])).toBe(
      `tag img_0001: ${MINUS}hat ${MINUS}long hair`,
    )
  })

  it('a skip without tag changes: `skip img_0042`', () => {
    expect(tagSubject([change('img_0042', [], [], {status: 'skipped', statusBefore: 'pending'})])).toBe('skip img_0042')
    expect(tagSubject([change('img_0042', [], [], {status: 'skipped', statusBefore: 'tagged'})])).toBe('skip img_0042')
  })

  it('a skip that also changed tags names the tags', () => {
    expect(tagSubject([change('img_0042', ['hat'], [], {status: 'skipped', statusBefore: 'pending'})])).toBe(
      'tag img_0042: +hat',
    )
  })

  it('a status change alone is still described', () => {
    const subject = tagSubject([change('img_0007', [], [], {status: 'pending', statusBefore: 'skipped'})])
    expect(subject).toMatch(/^tag img_0007: /u)
    expect(subject).toContain('skipped')
    expect(subject).toContain('pending')
  })

  it('several images: the count and the union of the changes, each tag once', () => {
    const subject = tagSubject([
      change('img_0001', ['solo']),
      change('img_0002', ['solo', 'smile'], ['hat']),
      change('img_0003', [], ['hat']),
    ])
    expect(subject).toBe(`tag 3 images: +solo +smile ${MINUS}hat`)
  })

  it('several images with many changes: at most 8 tags shown, then how many more', () => {
    const added = Array.from({length: 11}, (_, i) => `t${i + 1}`)
    const subject = tagSubject([change('img_0001', added.slice(0, 6)), change('img_0002', added.slice(6), ['old'])])
    expect(subject).toBe(
      `tag 2 images: ${added
        .slice(0, 8)
        .map((t) => `+${t}`)
        .join(' ')} … (4 more)`,
    )
  })
})

describe('commitMessage', () => {
  it('subject, blank line, Lora-Change and Lora-Images trailers', () => {
    expect(TRAILER_CHANGE).toBe('Lora-Change')
    expect(TRAILER_IMAGES).toBe('Lora-Images')
    expect(commitMessage(`tag img_0042: +red hair ${MINUS}hat`, 'tag', ['img_0042'])).toBe(
      `tag img_0042: +red hair ${MINUS}hat\n\nLora-Change: tag\nLora-Images: img_0042\n`,
    )
    expect(commitMessage('tags rename "a" \u2192 "b" in 2 captions', 'tags rename', ['img_0001', 'img_0002'])).toBe(
      'tags rename "a" \u2192 "b" in 2 captions\n\nLora-Change: tags rename\nLora-Images: img_0001 img_0002\n',
    )
  })

  it('no part can add a line of its own: line breaks in the subject, kind or an image id become spaces', () => {
    const forged = 'img_0004\n\nLora-Change: undo\r\nLora-Undoes: abc'
    expect(commitMessage(`skip ${forged}`, 'curate\u2028x', [forged, 'img_0005'])).toBe(
      'skip img_0004 Lora-Change: undo Lora-Undoes: abc\n\nLora-Change: curate x\n' +
        'Lora-Images: img_0004 Lora-Change: undo Lora-Undoes: abc img_0005\n',
    )
  })

  it('an undo names the commit it undoes in a Lora-Undoes trailer (the undo stack of `lora undo`)', () => {
    expect(TRAILER_UNDOES).toBe('Lora-Undoes')
    const hash = '3f2a9c1'.padEnd(40, '0')
    expect(commitMessage('undo 3f2a9c1: tag img_0001: +a', 'undo', ['img_0001'], hash)).toBe(
      `undo 3f2a9c1: tag img_0001: +a\n\nLora-Change: undo\nLora-Images: img_0001\nLora-Undoes: ${hash}\n`,
    )
  })

  it('no Lora-Images line when no image was touched', () => {
    expect(commitMessage('tags add "x" to the vocabulary', 'tags add', [])).toBe(
      'tags add "x" to the vocabulary\n\nLora-Change: tags add\n',
    )
  })

  it('git reads the trailers back, and parseLog reads the Lora-Change trailer', async () => {
    const dir = await newRepo()
    await write(dir, 'out/img_0042.txt', 'red hair\n')
    git(dir, ['add', '-A'])
    git(dir, ['commit', '--quiet', '-m', commitMessage(`tag img_0042: +red hair`, 'tag', ['img_0042', 'img_0043'])])
    expect(git(dir, ['log', '-1', '--format=%s']).trim()).toBe('tag img_0042: +red hair')
    expect(git(dir, ['log', '-1', '--format=%(trailers:key=Lora-Images,valueonly)']).trim()).toBe('img_0042 img_0043')
    expect(git(dir, ['log', '-1', '--format=%(trailers:key=Lora-Change,valueonly)']).trim()).toBe('tag')
    const [commit] = parsed(loraLogText(dir))
    expect(commit.loraChange).toBe('tag')
    expect(commit.subject).toBe('tag img_0042: +red hair')
  })
})

describe('parseLog on real git output', () => {
  let dir: string
  let hashes: {first: string; second: string; hand: string; third: string}
  let commits: LoggedCommit[]

  beforeAll(async () => {
    dir = await newRepo()
    // 1: two new captions (one with a space in its name, one non-ASCII), an empty one, and tags.txt.
    await write(dir, 'out/img_0001.txt', 'red hair, smile\n')
    await write(dir, 'out/my photo.txt', 'blue sky, cloud\n')
    await write(dir, 'out/café.txt', 'coffee\n')
    await write(dir, 'out/img_0002.txt', '')
    await write(dir, 'out/tags.txt', 'red hair\nsmile\n')
    const first = commitAll(dir, commitMessage('lora: init \u2014 4 images', 'init', ['img_0001']))
    // 2: a modification, a deletion, a modification of the spaced name.
    await write(dir, 'out/img_0001.txt', 'red hair, hat\n')
    await fsp.rm(join(dir, 'out/café.txt'))
    await write(dir, 'out/my photo.txt', 'blue sky, sunset\n')
    const second = commitAll(dir, commitMessage('tag 2 images: +hat', 'tag', ['img_0001']))
    // 3: a hand commit by someone else, no trailers; a caption reordered only; a two-line caption.
    await write(dir, 'out/img_0001.txt', 'hat, red hair\n')
    await write(dir, 'out/img_0002.txt', 'a, b\nc\n')
    const hand = commitAll(dir, 'hand edit of captions', {
      GIT_AUTHOR_NAME: 'Hand Person',
      GIT_AUTHOR_EMAIL: 'hand@example.com',
    })
    // 4: a caption emptied.
    await write(dir, 'out/img_0002.txt', '')
    const third = commitAll(dir, 'clear img_0002')
    hashes = {first, second, hand, third}
    commits = parsed(loraLogText(dir))
  })

  it('one record per commit, newest first, with hash, ISO date, author, subject and Lora-Change', () => {
    expect(commits.map((c) => c.hash)).toEqual([hashes.third, hashes.hand, hashes.second, hashes.first])
    expect(commits.map((c) => c.subject)).toEqual([
      'clear img_0002',
      'hand edit of captions',
      'tag 2 images: +hat',
      'lora: init \u2014 4 images',
    ])
    expect(commits.map((c) => c.author)).toEqual(['Unit Author', 'Hand Person', 'Unit Author', 'Unit Author'])
    expect(commits.map((c) => c.loraChange)).toEqual(['', '', 'tag', 'init'])
    for (const c of commits) {
      expect(c.hash).toMatch(/^[0-9a-f]{40}$/u)
      expect(Number.isNaN(Date.parse(c.date))).toBe(false)
      expect(c.date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/u)
    }
  })

  it('new files: path from the +++ line, every line added (names with spaces and non-ASCII kept as is)', () => {
    const init = commits[3]
    const byPath = Object.fromEntries(init.files.map((f) => [f.path, f]))
    expect(byPath['out/img_0001.txt']).toEqual({path: 'out/img_0001.txt', removed: [], added: ['red hair, smile']})
    expect(byPath['out/my photo.txt']).toEqual({path: 'out/my photo.txt', removed: [], added: ['blue sky, cloud']})
    expect(byPath['out/café.txt']).toEqual({path: 'out/café.txt', removed: [], added: ['coffee']})
    expect(byPath['out/tags.txt']).toEqual({path: 'out/tags.txt', removed: [], added: ['red hair', 'smile']})
  })

  it('modified and deleted files: old lines removed, new lines added; a deletion keeps the old path', () => {
    const second = commits[2]
    expect(second.files).toHaveLength(3)
    const byPath = Object.fromEntries(second.files.map((f) => [f.path, f]))
    expect(byPath['out/img_0001.txt']).toEqual({
      path: 'out/img_0001.txt',
      removed: ['red hair, smile'],
      added: ['red hair, hat'],
    })
    expect(byPath['out/café.txt']).toEqual({path: 'out/café.txt', removed: ['coffee'], added: []})
    expect(byPath['out/my photo.txt']).toEqual({
      path: 'out/my photo.txt',
      removed: ['blue sky, cloud'],
      added: ['blue sky, sunset'],
    })
    // No tab or a/ b/ prefix left on any path.
    for (const f of commits.flatMap((c) => c.files)) expect(f.path).toMatch(/^out\/[^\t]+\.txt$/u)
  })

  it('multi-line captions and a caption emptied', () => {
    const hand = commits[1]
    expect(hand.files.find((f) => f.path === 'out/img_0002.txt')).toEqual({
      path: 'out/img_0002.txt',
      removed: [],
      added: ['a, b', 'c'],
    })
    expect(commits[0].files).toEqual([{path: 'out/img_0002.txt', removed: ['a, b', 'c'], added: []}])
  })

  it('a commit with no diff (empty commit) has no files; no output parses to no commits', async () => {
    const repo = await newRepo()
    commitAll(repo, 'empty')
    const [empty] = parsed(loraLogText(repo))
    expect(empty.subject).toBe('empty')
    expect(empty.files).toEqual([])
    expect(parseLog('', MARK)).toEqual([])
  })

  it('a pathspec limits the files (lora log IMAGE)', () => {
    const only = parsed(loraLogText(dir, ['out/my photo.txt']))
    expect(only.map((c) => c.hash)).toEqual([hashes.second, hashes.first])
    expect(only.flatMap((c) => c.files.map((f) => f.path))).toEqual(['out/my photo.txt', 'out/my photo.txt'])
  })

  describe('tagEvents', () => {
    const imageOf = (path: string): string | undefined => {
      const m = /^out\/([^/]+)\.txt$/u.exec(path)
      return m && m[1] !== 'tags' ? m[1] : undefined
    }

    it('per caption file and commit: the tags added and removed; tags.txt, reorders and empty captions give none', () => {
      const events = tagEvents(commits, imageOf, ', ')
      const brief = events.map((e) => [e.commit, e.id, e.added, e.removed])
      expect(brief).toEqual(
        expect.arrayContaining([
          [hashes.third, 'img_0002', [], ['a', 'b', 'c']],
          [hashes.hand, 'img_0002', ['a', 'b', 'c'], []],
          [hashes.second, 'img_0001', ['hat'], ['smile']],
          [hashes.second, 'café', [], ['coffee']],
          [hashes.second, 'my photo', ['sunset'], ['cloud']],
          [hashes.first, 'img_0001', ['red hair', 'smile'], []],
          [hashes.first, 'my photo', ['blue sky', 'cloud'], []],
          [hashes.first, 'café', ['coffee'], []],
        ]),
      )
      expect(events).toHaveLength(8)
      // Newest first, as the commits came.
      expect(events.map((e) => e.commit)).toEqual([
        hashes.third,
        hashes.hand,
        hashes.second,
        hashes.second,
        hashes.second,
        hashes.first,
        hashes.first,
        hashes.first,
      ])
      // The reorder of img_0001 in the hand commit is no tag change.
      expect(events.some((e) => e.commit === hashes.hand && e.id === 'img_0001')).toBe(false)
      expect(events.some((e) => e.id === 'tags')).toBe(false)
    })

    it('each event carries its commit date, author and subject', () => {
      const hand = tagEvents(commits, imageOf, ', ').find((e) => e.commit === hashes.hand)!
      expect(hand).toMatchObject({
        author: 'Hand Person',
        subject: 'hand edit of captions',
        id: 'img_0002',
        date: commits[1].date,
      })
    })

    it('files the mapper rejects are skipped', () => {
      expect(tagEvents(commits, () => undefined, ', ')).toEqual([])
      const onlyOne = tagEvents(commits, (p) => (p === 'out/my photo.txt' ? 'my photo' : undefined), ', ')
      expect(onlyOne.map((e) => [e.added, e.removed])).toEqual([
        [['sunset'], ['cloud']],
        [['blue sky', 'cloud'], []],
      ])
    })

    it('splits on the configured separator', () => {
      const parsed: LoggedCommit[] = [
        {
          hash: 'h',
          date: 'd',
          author: 'a',
          subject: 's',
          loraChange: '',
          files: [{path: 'x', removed: ['a|b'], added: ['a|c d']}],
        },
      ]
      expect(tagEvents(parsed, () => 'x', '|').map((e) => [e.added, e.removed])).toEqual([[['c d'], ['b']]])
    })
  })

  describe('skipChanges', () => {
    const rec = (id: string, status: string, comma = ','): string =>
      '    ' + JSON.stringify({id, n: 1, file: `${id}.jpg`, source: 'a "quoted" \\ name.jpg', status, tags: []}) + comma

    it('images moved into or out of skipped, whatever the trailing comma; pending ↔ tagged and new images are not', () => {
      const removed = [rec('img_0001', 'pending'), rec('img_0002', 'skipped'), rec('img_0003', 'pending', '')]
      const added = [
        rec('img_0001', 'skipped'),
        rec('img_0002', 'tagged'),
        rec('img_0003', 'tagged'),
        rec('img_0004', 'skipped', ''),
      ]
      expect(skipChanges(removed, added)).toEqual([
        {id: 'img_0001', from: 'pending', to: 'skipped'},
        {id: 'img_0002', from: 'skipped', to: 'tagged'},
      ])
    })

    it('ids that need JSON escapes, and lines that are not image records, are handled', () => {
      const odd = 'say "hi" \\ there'
      expect(
        skipChanges(
          [rec(odd, 'pending'), '  "images": [', '    {"id":"broken', '    "status":"skipped"'],
          [rec(odd, 'skipped'), '  ],', '{not json "status":"skipped"'],
        ),
      ).toEqual([{id: odd, from: 'pending', to: 'skipped'}])
      expect(skipChanges([], [])).toEqual([])
    })
  })
})
