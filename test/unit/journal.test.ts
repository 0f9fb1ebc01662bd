import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {
  JOURNAL_FILE,
  recoverJournal,
  runJournal,
  type Journal,
  type JournalOp,
  type PlaceImageOp,
  type PlaceMode,
} from '../../src/store/journal.js'
import {DatasetError} from '../../src/errors.js'
import {copyFixtures, FIXTURES, makeTemp, removeTemp, sha256} from '../helpers.js'

const NAMES = [
  'plasma-Kite-screenshot.jpg',
  'skimage-horse.png',
  'skimage-page.png',
  'skimage-palette_color.png',
  'skimage-no_time_for_that_tiny.gif',
]

let root: string
let meta: string
let output: string
let photos: string
/** sha256 of each fixture, by name. */
const shaOf = new Map<string, string>()

beforeAll(async () => {
  for (const name of [...NAMES, 'plasma-Autumn-screenshot.jpg']) shaOf.set(name, await sha256(join(FIXTURES, name)))
  // The fixtures must be distinct for "exactly once" to mean anything.
  expect(new Set(shaOf.values()).size).toBe(shaOf.size)
})

beforeEach(async () => {
  root = await makeTemp('lora-journal-')
  meta = join(root, '.lora-tagger')
  output = join(root, 'output')
  photos = join(root, 'photos')
  await fsp.mkdir(meta)
  await copyFixtures(photos, NAMES)
})

afterEach(async () => {
  await removeTemp(root)
})

function targetOf(index: number, name: string): string {
  return `output/img_${String(index + 1).padStart(4, '0')}.${name.slice(name.lastIndexOf('.') + 1)}`
}

function placeOps(mode: PlaceMode, names = NAMES): PlaceImageOp[] {
  return names.map((name, i) => ({
    op: 'place-image',
    source: `photos/${name}`,
    target: targetOf(i, name),
    sha256: shaOf.get(name)!,
    mode,
  }))
}

function journalOf(ops: JournalOp[], kind = 'init'): Journal {
  return {version: 1, kind, createdAt: '2024-01-01T00:00:00.000Z', ops}
}

async function writeJournalByHand(journal: Journal): Promise<void> {
  await fsp.writeFile(join(meta, JOURNAL_FILE), JSON.stringify(journal, null, 2) + '\n')
}

const exists = (path: string) => fs.existsSync(path)
const journalPath = () => join(meta, JOURNAL_FILE)

/** Every file (recursively) under `dir`, relative. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, {recursive: true, withFileTypes: true})
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort()
}

/** How many files under the dataset folder hold each sha256 (hard links to one inode count once). */
async function shaCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  const inodes = new Set<string>()
  for (const rel of await listFiles(root)) {
    const path = join(root, rel)
    const st = await fsp.stat(path)
    const key = `${st.dev}:${st.ino}`
    if (inodes.has(key)) continue
    inodes.add(key)
    const sum = await sha256(path)
    counts.set(sum, (counts.get(sum) ?? 0) + 1)
  }
  return counts
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection, but it resolved')
    },
    (error: unknown) => error,
  )
}

async function tempFilesUnder(dir: string): Promise<string[]> {
  return (await listFiles(dir)).filter((rel) => rel.includes('.lora-tmp-'))
}

describe('runJournal: place-image', () => {
  it('copy mode places identical copies and keeps the originals', async () => {
    const ops = placeOps('copy')
    const seen: JournalOp[] = []
    await runJournal(root, meta, journalOf(ops), (op) => seen.push(op))
    expect(seen).toEqual(ops)
    for (const [i, name] of NAMES.entries()) {
      const target = join(root, targetOf(i, name))
      const original = join(photos, name)
      expect(await sha256(target)).toBe(shaOf.get(name))
      expect(await sha256(original)).toBe(shaOf.get(name))
      // A copy, not a link: changing one must not change the other.
      expect((await fsp.stat(target)).ino).not.toBe((await fsp.stat(original)).ino)
    }
    expect(exists(journalPath())).toBe(false)
    expect(await tempFilesUnder(root)).toEqual([])
  })

  it('link mode hard-links the originals at their new names', async () => {
    await runJournal(root, meta, journalOf(placeOps('link')))
    for (const [i, name] of NAMES.entries()) {
      const target = await fsp.stat(join(root, targetOf(i, name)))
      const original = await fsp.stat(join(photos, name))
      expect(target.ino).toBe(original.ino)
      expect(target.dev).toBe(original.dev)
      expect(target.nlink).toBe(2)
      expect(await sha256(join(root, targetOf(i, name)))).toBe(shaOf.get(name))
    }
    expect(exists(journalPath())).toBe(false)
  })

  it('move mode places the images and removes the originals', async () => {
    await runJournal(root, meta, journalOf(placeOps('move')))
    for (const [i, name] of NAMES.entries()) {
      const target = join(root, targetOf(i, name))
      expect(await sha256(target)).toBe(shaOf.get(name))
      expect((await fsp.stat(target)).nlink).toBe(1)
      expect(exists(join(photos, name))).toBe(false)
    }
    expect(await fsp.readdir(photos)).toEqual([])
    const counts = await shaCounts()
    for (const name of NAMES) expect(counts.get(shaOf.get(name)!)).toBe(1)
    expect(exists(journalPath())).toBe(false)
    expect(await tempFilesUnder(root)).toEqual([])
  })

  it('creates missing folders for targets', async () => {
    const op: PlaceImageOp = {
      op: 'place-image',
      source: `photos/${NAMES[0]}`,
      target: 'deep/er/img_0001.jpg',
      sha256: shaOf.get(NAMES[0])!,
      mode: 'copy',
    }
    await runJournal(root, meta, journalOf([op]))
    expect(await sha256(join(root, 'deep/er/img_0001.jpg'))).toBe(shaOf.get(NAMES[0]))
  })

  it('refuses to start while another change is pending, leaving it untouched', async () => {
    const pending = journalOf([], 'tag')
    await writeJournalByHand(pending)
    const before = await fsp.readFile(journalPath(), 'utf8')
    const error = await rejection(runJournal(root, meta, journalOf(placeOps('copy'))))
    expect(error).toBeInstanceOf(DatasetError)
    expect(await fsp.readFile(journalPath(), 'utf8')).toBe(before)
    expect(exists(output)).toBe(false)
  })

  it('refuses to overwrite an existing target with other bytes, keeps the original and the journal', async () => {
    await fsp.mkdir(output)
    const other = join(FIXTURES, 'plasma-Autumn-screenshot.jpg')
    await fsp.copyFile(other, join(root, targetOf(0, NAMES[0])))
    const error = await rejection(runJournal(root, meta, journalOf(placeOps('move'))))
    expect(error).toBeInstanceOf(DatasetError)
    expect((error as DatasetError).message).toContain(targetOf(0, NAMES[0]))
    expect(await sha256(join(root, targetOf(0, NAMES[0])))).toBe(shaOf.get('plasma-Autumn-screenshot.jpg'))
    expect(await sha256(join(photos, NAMES[0]))).toBe(shaOf.get(NAMES[0]))
    expect(exists(journalPath())).toBe(true)
  })
})

describe('runJournal: create and write', () => {
  beforeEach(async () => {
    await fsp.mkdir(output)
  })

  it('create makes a new file', async () => {
    await runJournal(root, meta, journalOf([{op: 'create', path: 'output/img_0001.txt', text: 'a, b\n'}], 'tag'))
    expect(await fsp.readFile(join(output, 'img_0001.txt'), 'utf8')).toBe('a, b\n')
    expect(exists(journalPath())).toBe(false)
    expect(await tempFilesUnder(root)).toEqual([])
  })

  it('create refuses to overwrite an existing file with other content (DatasetError), and keeps the journal', async () => {
    await fsp.writeFile(join(output, 'img_0001.txt'), 'hand written\n')
    const error = await rejection(
      runJournal(root, meta, journalOf([{op: 'create', path: 'output/img_0001.txt', text: 'a, b\n'}], 'tag')),
    )
    expect(error).toBeInstanceOf(DatasetError)
    expect((error as DatasetError).message).toContain('output/img_0001.txt')
    expect((error as DatasetError).exitCode).toBe(1)
    expect((error as DatasetError).hint).toBeTruthy()
    expect(await fsp.readFile(join(output, 'img_0001.txt'), 'utf8')).toBe('hand written\n')
    expect(exists(journalPath())).toBe(true)
    expect(await tempFilesUnder(root)).toEqual([])
  })

  it('create accepts an existing file with identical content', async () => {
    await fsp.writeFile(join(output, 'img_0001.txt'), 'a, b\n')
    await runJournal(root, meta, journalOf([{op: 'create', path: 'output/img_0001.txt', text: 'a, b\n'}], 'tag'))
    expect(await fsp.readFile(join(output, 'img_0001.txt'), 'utf8')).toBe('a, b\n')
    expect(exists(journalPath())).toBe(false)
  })

  it('write replaces a file', async () => {
    await fsp.writeFile(join(output, 'tags.txt'), 'old\n')
    await runJournal(root, meta, journalOf([{op: 'write', path: 'output/tags.txt', text: 'new\n'}], 'tag'))
    expect(await fsp.readFile(join(output, 'tags.txt'), 'utf8')).toBe('new\n')
    expect(await tempFilesUnder(root)).toEqual([])
  })

  it('applies the ops in order', async () => {
    await runJournal(
      root,
      meta,
      journalOf([
        {op: 'write', path: 'output/tags.txt', text: 'first\n'},
        {op: 'write', path: 'output/tags.txt', text: 'second\n'},
      ]),
    )
    expect(await fsp.readFile(join(output, 'tags.txt'), 'utf8')).toBe('second\n')
  })
})

describe('recoverJournal', () => {
  it('does nothing without a journal', async () => {
    expect(await recoverJournal(root, meta, output)).toBeUndefined()
    expect(await fsp.readdir(meta)).toEqual([])
  })

  it('finishes an interrupted move whatever step each op reached, exactly once per image', async () => {
    const ops = placeOps('move')
    const [done, linked, untouched, copiedNotRemoved] = ops
    await fsp.mkdir(output)
    // Op 0: already done (target placed, original removed).
    await fsp.rename(join(root, done.source), join(root, done.target))
    // Op 1: hard link made, original not yet removed.
    await fsp.link(join(root, linked.source), join(root, linked.target))
    // Op 2 (untouched): nothing done yet.
    // Op 3: copied (separate inode, same bytes), original not yet removed.
    await fsp.copyFile(join(root, copiedNotRemoved.source), join(root, copiedNotRemoved.target))
    // Op 4: nothing done yet either.
    // Leftovers a killed run leaves: temp files beside the targets and in the metadata folder.
    await fsp.writeFile(join(output, `.lora-tmp-99999-deadbeef-${untouched.target.slice('output/'.length)}`), 'partial')
    await fsp.writeFile(join(meta, '.lora-tmp-99999-cafebabe-state.json'), '{"version":')
    const stateText = '{"version":1}\n'
    const captionText = 'a, b\n'
    // The caption was already created by the interrupted run.
    await fsp.writeFile(join(output, 'img_0001.txt'), captionText)
    await writeJournalByHand(
      journalOf([
        ...ops,
        {op: 'create', path: 'output/img_0001.txt', text: captionText},
        {op: 'create', path: 'output/img_0002.txt', text: 'c\n'},
        {op: 'write', path: '.lora-tagger/state.json', text: stateText},
      ]),
    )

    expect(await recoverJournal(root, meta, output)).toBe('init')

    for (const [i, name] of NAMES.entries()) {
      expect(await sha256(join(root, targetOf(i, name)))).toBe(shaOf.get(name))
      expect(exists(join(photos, name))).toBe(false)
    }
    const counts = await shaCounts()
    for (const name of NAMES) expect(counts.get(shaOf.get(name)!)).toBe(1)
    expect(await fsp.readFile(join(output, 'img_0001.txt'), 'utf8')).toBe(captionText)
    expect(await fsp.readFile(join(output, 'img_0002.txt'), 'utf8')).toBe('c\n')
    expect(await fsp.readFile(join(meta, 'state.json'), 'utf8')).toBe(stateText)
    expect(exists(journalPath())).toBe(false)
    expect(await tempFilesUnder(root)).toEqual([])
    expect(await listFiles(meta)).toEqual(['state.json'])
    expect(await listFiles(output)).toEqual(
      [...NAMES.map((n, i) => targetOf(i, n).slice('output/'.length)), 'img_0001.txt', 'img_0002.txt'].sort(),
    )
  })

  it('replaying a completed journal again changes nothing', async () => {
    const journal = journalOf([...placeOps('move'), {op: 'create', path: 'output/img_0001.txt', text: 'x\n'}])
    await runJournal(root, meta, journal)
    const before = await listFiles(root)
    // As if the kill came just before the journal was removed.
    await writeJournalByHand(journal)
    expect(await recoverJournal(root, meta, output)).toBe('init')
    expect(await listFiles(root)).toEqual(before)
    const counts = await shaCounts()
    for (const name of NAMES) expect(counts.get(shaOf.get(name)!)).toBe(1)
    expect(exists(journalPath())).toBe(false)
  })

  it('finishes interrupted copy and link placements', async () => {
    const copy = placeOps('copy', NAMES.slice(0, 2))
    const link = placeOps('link', NAMES.slice(2)).map((op, i) => ({...op, target: targetOf(i + 2, NAMES[i + 2])}))
    await fsp.mkdir(output)
    await fsp.copyFile(join(root, copy[0].source), join(root, copy[0].target))
    await fsp.link(join(root, link[0].source), join(root, link[0].target))
    await writeJournalByHand(journalOf([...copy, ...link]))
    await recoverJournal(root, meta, output)
    for (const [i, name] of NAMES.entries()) {
      expect(await sha256(join(root, targetOf(i, name)))).toBe(shaOf.get(name))
      expect(await sha256(join(photos, name))).toBe(shaOf.get(name))
    }
    for (const op of link)
      expect((await fsp.stat(join(root, op.target))).ino).toBe((await fsp.stat(join(root, op.source))).ino)
    expect(exists(journalPath())).toBe(false)
  })

  it('never overwrites a target holding other bytes, keeps the original, and keeps the journal', async () => {
    const ops = placeOps('move')
    await fsp.mkdir(output)
    const intruder = join(FIXTURES, 'plasma-Autumn-screenshot.jpg')
    await fsp.copyFile(intruder, join(root, ops[1].target))
    await writeJournalByHand(journalOf(ops))
    const error = await rejection(recoverJournal(root, meta, output))
    expect(error).toBeInstanceOf(DatasetError)
    expect((error as DatasetError).message).toContain(ops[1].target)
    expect((error as DatasetError).hint).toBeTruthy()
    expect(await sha256(join(root, ops[1].target))).toBe(shaOf.get('plasma-Autumn-screenshot.jpg'))
    expect(await sha256(join(root, ops[1].source))).toBe(shaOf.get(NAMES[1]))
    expect(exists(journalPath())).toBe(true)
    // Retrying fails the same way and still overwrites nothing.
    await expect(recoverJournal(root, meta, output)).rejects.toThrow(DatasetError)
    expect(await sha256(join(root, ops[1].target))).toBe(shaOf.get('plasma-Autumn-screenshot.jpg'))
    expect(await sha256(join(root, ops[1].source))).toBe(shaOf.get(NAMES[1]))
  })

  it('fails with a DatasetError when an original is missing and its target was never made', async () => {
    const ops = placeOps('move')
    await fsp.rm(join(root, ops[2].source))
    await writeJournalByHand(journalOf(ops))
    const error = await rejection(recoverJournal(root, meta, output))
    expect(error).toBeInstanceOf(DatasetError)
    expect((error as DatasetError).message).toContain(ops[2].source)
    expect((error as DatasetError).hint).toContain(ops[2].sha256.slice(0, 12))
    expect(exists(join(root, ops[2].target))).toBe(false)
    expect(exists(journalPath())).toBe(true)
  })

  it('fails with a DatasetError for a damaged journal, leaving it in place', async () => {
    await fsp.writeFile(journalPath(), '{"version":1,"ops":[')
    const error = await rejection(recoverJournal(root, meta, output))
    expect(error).toBeInstanceOf(DatasetError)
    expect((error as DatasetError).message).toContain('journal.json')
    expect(await fsp.readFile(journalPath(), 'utf8')).toBe('{"version":1,"ops":[')
  })
})

describe('a place-image source that is not the image lora recorded (README "Safety model")', () => {
  const SECRET = 'root:x:0:0:secret\n'
  let outside: string

  beforeEach(async () => {
    outside = await makeTemp('lora-journal-outside-')
    await fsp.writeFile(join(outside, 'secret'), SECRET)
  })

  afterEach(async () => {
    await removeTemp(outside)
  })

  /** A journal (as a stranger's dataset could carry) placing `photos/evil.png` at `output/x.png`. */
  function evilOp(mode: PlaceMode, sha = '00'): PlaceImageOp {
    return {op: 'place-image', source: 'photos/evil.png', target: 'output/x.png', sha256: sha, mode}
  }

  it.each(['copy', 'move', 'link'] as const)(
    'recoverJournal never copies or links a symbolic link source (%s): DatasetError naming the op, nothing placed',
    async (mode) => {
      await fsp.symlink(join(outside, 'secret'), join(photos, 'evil.png'))
      // The op even carries the secret's true sha256: the link is refused for what it is, not for its bytes.
      await writeJournalByHand(journalOf([evilOp(mode, await sha256(join(outside, 'secret')))]))
      const error = await rejection(recoverJournal(root, meta, output))
      expect(error).toBeInstanceOf(DatasetError)
      expect((error as DatasetError).message).toBe(
        '.lora-tagger/journal.json: op #1 (place-image) has source "photos/evil.png", which is a symbolic link, not a regular image file; lora does not read, copy or link it; nothing was placed at "output/x.png".',
      )
      expect((error as DatasetError).hint).toContain('Remove .lora-tagger/journal.json if lora did not write it')
      expect(fs.lstatSync(join(root, 'output/x.png'), {throwIfNoEntry: false})).toBeUndefined()
      expect((await fsp.lstat(join(photos, 'evil.png'))).isSymbolicLink()).toBe(true)
      expect(await fsp.readFile(join(outside, 'secret'), 'utf8')).toBe(SECRET)
      expect(exists(journalPath())).toBe(true)
    },
  )

  it.each(['copy', 'move', 'link'] as const)(
    'recoverJournal refuses a regular source without the op sha256 (%s): the placed image removed, the source kept',
    async (mode) => {
      await fsp.copyFile(join(photos, NAMES[1]), join(photos, 'evil.png'))
      await writeJournalByHand(journalOf([evilOp(mode)]))
      const error = await rejection(recoverJournal(root, meta, output))
      expect(error).toBeInstanceOf(DatasetError)
      expect((error as DatasetError).message).toBe(
        '.lora-tagger/journal.json: op #1 (place-image) has source "photos/evil.png", which does not hold the image the journal records (its sha256 is not 00…); nothing was placed at "output/x.png".',
      )
      expect(fs.lstatSync(join(root, 'output/x.png'), {throwIfNoEntry: false})).toBeUndefined()
      expect(await sha256(join(photos, 'evil.png'))).toBe(shaOf.get(NAMES[1]))
      expect(exists(journalPath())).toBe(true)
    },
  )

  it.each(['copy', 'link'] as const)(
    'a change lora runs itself never copies or links a source replaced by a symbolic link (%s)',
    async (mode) => {
      // The journal lora wrote named a regular file; a link was put there before the op ran (refused where the op
      // is applied, not only by the recovery's check of every source first).
      await fsp.symlink(join(outside, 'secret'), join(photos, 'evil.png'))
      const error = await rejection(runJournal(root, meta, journalOf([evilOp(mode)])))
      expect(error).toBeInstanceOf(DatasetError)
      expect((error as DatasetError).message).toContain(
        'has source "photos/evil.png", which is a symbolic link, not a regular image file',
      )
      expect(fs.lstatSync(join(root, 'output/x.png'), {throwIfNoEntry: false})).toBeUndefined()
      expect(await tempFilesUnder(root)).toEqual([])
    },
  )
})
