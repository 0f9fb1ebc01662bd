/**
 * `lora tags` (issue 3), in-process: listing, dataset-wide rename/merge, rm, add, normalize (tag style), reference
 * vocabulary import (tagcomplete CSV and plain text) with its cached autocomplete index. The commands run inside
 * the test process on the built dist/ (test/in-process.ts, build first), on datasets made by `lora init` of the
 * fixture images in temp folders; no mocks. The index is also loaded from src/ to check suggestions. What needs a
 * process (the kill sweep, a smoke run of the binary) is in test/e2e/tags.test.ts.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {openDataset} from '../../src/store/dataset.js'
import {serializeReference} from '../../src/core/reference.js'
import {TagIndex} from '../../src/core/tag-index.js'
import {Suggester, countTags, parseVocabulary} from '../../src/core/vocabulary.js'
import {INDEX_CACHE, loadTagIndex} from '../../src/services/references.js'
import {ROOT, SHARED_DATA, copyFixtures, itShared, readState, sha256, type RunResult} from '../helpers.js'
import {cleanupTemps, tempDir as makeTempDir} from '../e2e/e2e-helpers.js'
import {loraIn} from '../in-process.js'
import {
  CAPTIONS,
  TEMPLATE_IMAGES,
  caption,
  parseTagLines,
  read,
  readCsvIndependently,
  setConfig,
  snapshot,
  stateProblems,
  stderrLines,
  stdoutLines,
  vocabulary,
} from '../tags-helpers.js'

const EXCERPT = join(ROOT, 'test', 'fixtures', 'vocab', 'danbooru-excerpt.csv')
const FULL_CSV = join(SHARED_DATA, 'vocab', 'danbooru.csv')

// ---------------------------------------------------------------------------------------------------------------
// Helpers

afterAll(cleanupTemps)

/** A fresh temp folder (real path), removed after the file's tests. */
const tempDir = () => makeTempDir('lora-tags-cmd-')

/** Runs `lora ...args` in-process in `cwd`. */
function lora(
  args: string[],
  cwd: string,
  options: {env?: NodeJS.ProcessEnv; input?: string} = {},
): Promise<RunResult> {
  return loraIn(args, {cwd, env: options.env, input: options.input})
}

/** Runs lora and fails, showing its output, unless it exits 0. */
async function ok(
  args: string[],
  cwd: string,
  options: {env?: NodeJS.ProcessEnv; input?: string} = {},
): Promise<RunResult> {
  const r = await lora(args, cwd, options)
  if (r.code !== 0) throw new Error(`lora ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  return r
}

/** Runs lora with --json and parses stdout. */
async function json<T = any>(args: string[], cwd: string): Promise<T> {
  return JSON.parse((await ok([...args, '--json'], cwd)).stdout) as T
}

// ---------------------------------------------------------------------------------------------------------------
// A template dataset: `lora init` of four fixture images (img_0001..img_0003 .jpg, img_0004 .png).

let template: string

beforeAll(async () => {
  template = join(await tempDir(), 'imgs')
  await copyFixtures(template, TEMPLATE_IMAGES)
  await ok(['init', '.'], template)
}, 60_000)

/** A fresh copy of the template whose captions are set (via `lora tag --stdin`) to `captions[i]` for img i+1. */
async function dataset(captions: string[]): Promise<string> {
  const dir = join(await tempDir(), 'imgs')
  await fsp.cp(template, dir, {recursive: true})
  const lines = captions.map((c, i) => (c === '' ? '' : `img_000${i + 1}\t${c}\n`)).join('')
  if (lines) await ok(['tag', '--stdin'], dir, {input: lines})
  return dir
}

// ---------------------------------------------------------------------------------------------------------------

describe('lora tags (listing)', () => {
  it('lists tags with counts, most used first; --sort name; --json; --unused', async () => {
    const dir = await dataset(CAPTIONS)
    const byCount = await ok(['tags'], dir)
    expect(parseTagLines(byCount.stdout)).toEqual([
      ['longhair', 3],
      ['smile', 3],
      ['long hair', 2],
      ['a', 1],
      ['b', 1],
    ])
    const byName = await ok(['tags', '--sort', 'name'], dir)
    expect(parseTagLines(byName.stdout)).toEqual([
      ['a', 1],
      ['b', 1],
      ['long hair', 2],
      ['longhair', 3],
      ['smile', 3],
    ])
    expect(await json(['tags'], dir)).toEqual({
      tags: [
        {tag: 'longhair', count: 3},
        {tag: 'smile', count: 3},
        {tag: 'long hair', count: 2},
        {tag: 'a', count: 1},
        {tag: 'b', count: 1},
      ],
    })
    // Nothing unused yet.
    expect(await json(['tags', '--unused'], dir)).toEqual({tags: []})
    // Vocabulary-only entries: added ones, and a tag no caption uses any more.
    await ok(['tags', 'add', 'zebra', 'extra tag'], dir)
    await ok(['tag', '1', '--remove', 'a'], dir)
    expect(await json(['tags', '--unused'], dir)).toEqual({
      tags: [
        {tag: 'a', count: 0},
        {tag: 'extra tag', count: 0},
        {tag: 'zebra', count: 0},
      ],
    })
    expect(parseTagLines((await ok(['tags', '--unused'], dir)).stdout).map(([t]) => t)).toEqual([
      'a',
      'extra tag',
      'zebra',
    ])
    expect((await json(['tags'], dir)).tags.map((t: {tag: string}) => t.tag)).not.toContain('zebra')
  })

  it('leaves out the trigger word, which every caption holds', async () => {
    const dir = await dataset([])
    await setConfig(dir, 'trigger', 'ohwx')
    await ok(['tag', '1', '2', '--add', 'smile'], dir)
    expect(await fsp.readFile(join(dir, 'output', 'img_0001.txt'), 'utf8')).toBe('ohwx, smile\n')
    expect(await json(['tags'], dir)).toEqual({tags: [{tag: 'smile', count: 2}]})
  })

  it('says so when there are no tags', async () => {
    const dir = await dataset([])
    const r = await ok(['tags'], dir)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/no tags/iu)
    expect(await json(['tags'], dir)).toEqual({tags: []})
  })
})

describe('lora tags rename', () => {
  it("rewrites every caption and tags.txt; merges where NEW exists, at OLD's position", async () => {
    const dir = await dataset(CAPTIONS)
    expect(await vocabulary(dir)).toBe('a\nb\nlong hair\nlonghair\nsmile\n')
    const before4 = await sha256(join(dir, 'output', 'img_0004.txt'))
    const r = await ok(['tags', 'rename', 'longhair', 'long hair'], dir)
    expect(await caption(dir, 1)).toBe('a, long hair, b\n')
    expect(await caption(dir, 2)).toBe('long hair, smile\n')
    expect(await caption(dir, 3)).toBe('smile, long hair\n')
    expect(await caption(dir, 4)).toBe('smile\n')
    expect(await sha256(join(dir, 'output', 'img_0004.txt'))).toBe(before4)
    expect(await vocabulary(dir)).toBe('a\nb\nlong hair\nsmile\n')
    expect(await stateProblems(dir)).toEqual([])
    const state = await readState(dir)
    expect(state.images.map((i) => i.status)).toEqual(['tagged', 'tagged', 'tagged', 'tagged'])
    // One summary line, nothing per file when not a dry run.
    expect(stderrLines(r)).toHaveLength(1)
    expect(r.stderr).toMatch(/3 caption/u)
    expect(r.stdout).toBe('')
    expect(await json(['tags'], dir)).toEqual({
      tags: [
        {tag: 'long hair', count: 3},
        {tag: 'smile', count: 3},
        {tag: 'a', count: 1},
        {tag: 'b', count: 1},
      ],
    })
  })

  it('renames to a new name: tags.txt gets NEW instead of OLD', async () => {
    const dir = await dataset(CAPTIONS)
    await ok(['tags', 'rename', 'smile', 'grin'], dir)
    expect(await caption(dir, 2)).toBe('longhair, grin, long hair\n')
    expect(await caption(dir, 3)).toBe('long hair, grin, longhair\n')
    expect(await caption(dir, 4)).toBe('grin\n')
    expect(await caption(dir, 1)).toBe('a, longhair, b\n')
    expect(await vocabulary(dir)).toBe('a\nb\ngrin\nlong hair\nlonghair\n')
    expect(await stateProblems(dir)).toEqual([])
  })

  it('touches only captions holding OLD: others keep their bytes, even without the trigger word or in another style', async () => {
    const dir = await dataset(CAPTIONS)
    await setConfig(dir, 'trigger', 'ohwx')
    await setConfig(dir, 'tagStyle', 'underscores')
    // Edited by another tool: no trigger word, spaces in a tag, odd spacing.
    await fsp.writeFile(join(dir, 'output', 'img_0003.txt'), 'long hair,  smile\n')
    const othersSha = () => Promise.all([2, 3, 4].map((n) => sha256(join(dir, 'output', `img_000${n}.txt`))))
    const untouched = await othersSha()
    const r = await ok(['tags', 'rename', 'a', 'alpha', '--json'], dir)
    const report = JSON.parse(r.stdout)
    expect(report.changed).toBe(1)
    expect(report.images.map((f: {id: string}) => f.id)).toEqual(['img_0001'])
    expect(await caption(dir, 1)).toBe('ohwx, alpha, longhair, b\n')
    expect(await othersSha()).toEqual(untouched)
    // The state follows what the untouched caption files hold.
    expect(await stateProblems(dir)).toEqual([])
    const rm = JSON.parse((await ok(['tags', 'rm', 'b', '--json'], dir)).stdout)
    expect(rm.images.map((f: {id: string}) => f.id)).toEqual(['img_0001'])
    expect(await othersSha()).toEqual(untouched)
  })

  it('--dry-run prints the change per file and writes nothing', async () => {
    const dir = await dataset(CAPTIONS)
    const before = await snapshot(dir)
    const r = await ok(['tags', 'rename', 'longhair', 'long hair', '--dry-run'], dir)
    expect(await snapshot(dir)).toEqual(before)
    const lines = stdoutLines(r)
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatch(/img_0001/u)
    expect(lines[0]).toContain('-longhair')
    expect(lines[0]).toContain('+long hair')
    expect(lines[1]).toMatch(/img_0002/u)
    expect(lines[1]).toContain('-longhair')
    expect(lines[2]).toMatch(/img_0003/u)
    expect(lines.join('\n')).not.toMatch(/img_0004/u)
    expect(stderrLines(r)).toHaveLength(1)
    expect(r.stderr).toMatch(/dry run/iu)

    const report = await json(['tags', 'rename', 'longhair', 'long hair', '-n'], dir)
    expect(await snapshot(dir)).toEqual(before)
    expect(report).toMatchObject({
      action: 'rename',
      dryRun: true,
      changed: 3,
      vocabulary: {added: [], removed: ['longhair']},
    })
    expect(report.images.map((f: {after: string[]}) => f.after)).toEqual([
      ['a', 'long hair', 'b'],
      ['long hair', 'smile'],
      ['smile', 'long hair'],
    ])
  })

  it('--json reports every changed caption and the vocabulary change', async () => {
    const dir = await dataset(CAPTIONS)
    const report = await json(['tags', 'rename', 'longhair', 'long hair'], dir)
    expect(report).toMatchObject({
      action: 'rename',
      changed: 3,
      images: [
        {
          id: 'img_0001',
          file: 'img_0001.jpg',
          before: ['a', 'longhair', 'b'],
          after: ['a', 'long hair', 'b'],
          added: ['long hair'],
          removed: ['longhair'],
        },
        {
          id: 'img_0002',
          file: 'img_0002.jpg',
          before: ['longhair', 'smile', 'long hair'],
          after: ['long hair', 'smile'],
          added: [],
          removed: ['longhair'],
        },
        {
          id: 'img_0003',
          file: 'img_0003.jpg',
          before: ['long hair', 'smile', 'longhair'],
          after: ['smile', 'long hair'],
          added: [],
          removed: ['longhair'],
        },
      ],
      vocabulary: {added: [], removed: ['longhair']},
    })
    expect(report.images).toHaveLength(3)
    expect(await caption(dir, 1)).toBe('a, long hair, b\n')
    // The report says it was not a dry run.
    expect(report.dryRun).toBe(false)
  })

  it('a tag only in tags.txt is renamed there; an unknown tag changes nothing; bad names are usage errors', async () => {
    const dir = await dataset(CAPTIONS)
    await ok(['tags', 'add', 'vocab only'], dir)
    const captionsBefore = await Promise.all([1, 2, 3, 4].map((n) => caption(dir, n)))
    await ok(['tags', 'rename', 'vocab only', 'vocab renamed'], dir)
    expect(await vocabulary(dir)).toBe('a\nb\nlong hair\nlonghair\nsmile\nvocab renamed\n')
    expect(await Promise.all([1, 2, 3, 4].map((n) => caption(dir, n)))).toEqual(captionsBefore)

    const before = await snapshot(join(dir, 'output'))
    const none = await json(['tags', 'rename', 'no such tag', 'other'], dir)
    expect(none).toMatchObject({changed: 0, images: [], vocabulary: {added: [], removed: []}})
    expect(await snapshot(join(dir, 'output'))).toEqual(before)

    for (const args of [
      ['smile', 'smile'],
      ['smile', ' '],
      ['  ', 'x'],
    ]) {
      const r = await lora(['tags', 'rename', ...args], dir)
      expect([args, r.code]).toEqual([args, 2])
    }
    expect(await snapshot(join(dir, 'output'))).toEqual(before)
  })
})

describe('lora tags rm', () => {
  it('removes tags from every caption and from tags.txt', async () => {
    const dir = await dataset(CAPTIONS)
    await ok(['tags', 'add', 'unused one'], dir)
    const r = await ok(['tags', 'rm', 'smile', 'b', 'unused one'], dir)
    expect(await caption(dir, 1)).toBe('a, longhair\n')
    expect(await caption(dir, 2)).toBe('longhair, long hair\n')
    expect(await caption(dir, 3)).toBe('long hair, longhair\n')
    expect(await caption(dir, 4)).toBe('')
    expect(await vocabulary(dir)).toBe('a\nlong hair\nlonghair\n')
    expect(await stateProblems(dir)).toEqual([])
    expect(stderrLines(r)).toHaveLength(1)
    expect(r.stderr).toMatch(/4 caption/u)
  })

  it('--dry-run writes nothing; --json reports the files and vocabulary', async () => {
    const dir = await dataset(CAPTIONS)
    const before = await snapshot(dir)
    const dry = await ok(['tags', 'rm', 'smile', '--dry-run'], dir)
    expect(await snapshot(dir)).toEqual(before)
    expect(stdoutLines(dry)).toHaveLength(3)
    expect(stdoutLines(dry).every((l) => l.includes('-smile'))).toBe(true)
    expect(dry.stderr).toMatch(/dry run/iu)

    const report = await json(['tags', 'rm', 'smile'], dir)
    expect(report).toMatchObject({action: 'rm', changed: 3, vocabulary: {added: [], removed: ['smile']}})
    expect(report.images.map((f: {id: string; removed: string[]}) => [f.id, f.removed])).toEqual([
      ['img_0002', ['smile']],
      ['img_0003', ['smile']],
      ['img_0004', ['smile']],
    ])
    expect(await vocabulary(dir)).toBe('a\nb\nlong hair\nlonghair\n')
    expect(await caption(dir, 4)).toBe('')
  })
})

describe('lora tags add', () => {
  it('adds to tags.txt only; captions and state tags untouched', async () => {
    const dir = await dataset(CAPTIONS)
    const captionsBefore = await snapshot(join(dir, 'output'))
    const tagsBefore = (await readState(dir)).images.map((i) => i.tags)
    const report = await json(['tags', 'add', 'red hair', 'smile', 'red hair', '  blue   eyes '], dir)
    expect(report).toMatchObject({
      action: 'add',
      changed: 0,
      images: [],
      vocabulary: {added: ['red hair', 'blue eyes'], removed: []},
    })
    expect(await vocabulary(dir)).toBe('a\nb\nblue eyes\nlong hair\nlonghair\nred hair\nsmile\n')
    const after = await snapshot(join(dir, 'output'))
    delete captionsBefore['tags.txt']
    delete after['tags.txt']
    expect(after).toEqual(captionsBefore)
    expect((await readState(dir)).images.map((i) => i.tags)).toEqual(tagsBefore)
    // Adding what is there already changes nothing.
    const again = await ok(['tags', 'add', 'smile'], dir)
    expect(stderrLines(again)).toHaveLength(1)
    expect(await vocabulary(dir)).toBe('a\nb\nblue eyes\nlong hair\nlonghair\nred hair\nsmile\n')
  })
})

describe('tag style', () => {
  it('lora tags normalize applies tagStyle: spaces (kaomoji and short tags keep underscores), then lowercase', async () => {
    const dir = await dataset([
      'long_hair, ^_^, 1girl',
      'Blue_Eyes, >_<, long hair, long_hair',
      'a_b, hair_between_eyes',
      'smile',
    ])
    await setConfig(dir, 'tagStyle', 'spaces')

    const before = await snapshot(dir)
    const dry = await ok(['tags', 'normalize', '--dry-run'], dir)
    expect(await snapshot(dir)).toEqual(before)
    expect(stdoutLines(dry)).toHaveLength(3)
    expect(stdoutLines(dry)[0]).toMatch(/img_0001.*-long_hair.*\+long hair/u)

    const r = await ok(['tags', 'normalize'], dir)
    expect(stderrLines(r)).toHaveLength(1)
    expect(await caption(dir, 1)).toBe('long hair, ^_^, 1girl\n')
    expect(await caption(dir, 2)).toBe('Blue Eyes, >_<, long hair\n')
    expect(await caption(dir, 3)).toBe('a_b, hair between eyes\n')
    expect(await caption(dir, 4)).toBe('smile\n')
    expect(await vocabulary(dir)).toBe(
      ['1girl', '>_<', 'Blue Eyes', '^_^', 'a_b', 'hair between eyes', 'long hair', 'smile'].join('\n') + '\n',
    )
    expect(await stateProblems(dir)).toEqual([])

    // Normalising again changes nothing.
    const settled = await snapshot(join(dir, 'output'))
    expect(await json(['tags', 'normalize'], dir)).toMatchObject({action: 'normalize', changed: 0})
    expect(await snapshot(join(dir, 'output'))).toEqual(settled)

    await setConfig(dir, 'lowercase', 'true')
    await ok(['tags', 'normalize'], dir)
    expect(await caption(dir, 2)).toBe('blue eyes, >_<, long hair\n')
    expect(await caption(dir, 1)).toBe('long hair, ^_^, 1girl\n')
    expect(await vocabulary(dir)).toBe(
      ['1girl', '>_<', '^_^', 'a_b', 'blue eyes', 'hair between eyes', 'long hair', 'smile'].join('\n') + '\n',
    )
    expect(await stateProblems(dir)).toEqual([])
  })

  it('tagStyle: underscores decides what lora tag, tags add and tags rename write', async () => {
    const dir = await dataset(CAPTIONS)
    await setConfig(dir, 'tagStyle', 'underscores')
    await ok(['tag', '4', '--add', 'blue eyes'], dir)
    expect(await caption(dir, 4)).toBe('smile, blue_eyes\n')
    await ok(['tags', 'add', 'red hair'], dir)
    expect(parseVocabulary(await vocabulary(dir))).toContain('red_hair')
    expect(parseVocabulary(await vocabulary(dir))).not.toContain('red hair')
    await ok(['tags', 'rename', 'longhair', 'long hair'], dir)
    expect(await caption(dir, 1)).toBe('a, long_hair, b\n')
    expect(await stateProblems(dir)).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------------------------

describe('lora tags import', () => {
  const rows = readCsvIndependently(EXCERPT)
  const refDir = (dir: string) => join(dir, '.lora-tagger', 'reference')
  const cachePath = (dir: string) => join(dir, '.lora-tagger', INDEX_CACHE)

  it('imports the excerpt under .lora-tagger/ (tags.txt untouched); --list; reimport replaces; filters; --remove', async () => {
    const dir = await dataset(CAPTIONS)
    const output = await snapshot(join(dir, 'output'))

    const r = await ok(['tags', 'import', EXCERPT], dir)
    expect(stderrLines(r)).toHaveLength(1)
    expect(r.stderr).toMatch(/3000/u)
    expect(await fsp.readdir(refDir(dir))).toEqual(['danbooru-excerpt.tsv'])
    expect(fs.existsSync(cachePath(dir))).toBe(true)
    expect(TagIndex.parse(await fsp.readFile(cachePath(dir)))?.size).toBe(3000)
    expect(await snapshot(join(dir, 'output'))).toEqual(output)

    const report = await json(['tags', 'import', EXCERPT], dir)
    expect(report).toMatchObject({name: 'danbooru-excerpt', source: EXCERPT, tags: 3000, filteredOut: 0, filter: {}})
    expect(report.aliases).toBe(rows.reduce((n, row) => n + row.aliases.length, 0))
    expect(await fsp.readdir(refDir(dir))).toEqual(['danbooru-excerpt.tsv'])

    const list = await ok(['tags', 'import', '--list'], dir)
    expect(stdoutLines(list)).toHaveLength(1)
    expect(list.stdout).toMatch(/^danbooru-excerpt\t3000 tags\t/u)
    expect(await json(['tags', 'import', '--list'], dir)).toMatchObject({
      references: [{name: 'danbooru-excerpt', tags: 3000, source: EXCERPT}],
    })

    // Reimport with filters replaces it.
    const general = rows.filter((row) => row.category === 0 && row.count >= 100000).length
    const filtered = await json(['tags', 'import', EXCERPT, '--min-count', '100000', '--category', 'general'], dir)
    expect(filtered).toMatchObject({
      name: 'danbooru-excerpt',
      tags: general,
      filteredOut: 3000 - general,
      filter: {minCount: 100000, categories: [0]},
    })
    expect(general).toBeGreaterThan(0)
    expect(await fsp.readdir(refDir(dir))).toEqual(['danbooru-excerpt.tsv'])
    expect((await read(join(refDir(dir), 'danbooru-excerpt.tsv'))).split('\n').filter(Boolean)).toHaveLength(
      general + 1,
    )
    expect((await json(['tags', 'import', '--list'], dir)).references).toEqual([
      expect.objectContaining({name: 'danbooru-excerpt', tags: general}),
    ])
    expect(TagIndex.parse(await fsp.readFile(cachePath(dir)))?.size).toBe(general)

    const generalOrCharacter = rows.filter((row) => row.category === 0 || row.category === 4).length
    expect((await json(['tags', 'import', EXCERPT, '--category', 'general,character'], dir)).tags).toBe(
      generalOrCharacter,
    )
    expect((await json(['tags', 'import', EXCERPT, '--category', '4'], dir)).tags).toBe(
      rows.filter((row) => row.category === 4).length,
    )
    const badCategory = await lora(['tags', 'import', EXCERPT, '--category', 'colour'], dir)
    expect(badCategory.code).toBe(2)
    expect(badCategory.stderr).toContain('colour')

    // A plain text list beside it.
    const textList = join(await tempDir(), 'my-tags.txt')
    await fsp.writeFile(textList, '# my own tags\nred hair\n\nblue_eyes\nred hair\n')
    expect(await json(['tags', 'import', textList], dir)).toMatchObject({name: 'my-tags', tags: 2})
    expect((await json(['tags', 'import', '--list'], dir)).references.map((x: {name: string}) => x.name)).toEqual([
      'danbooru-excerpt',
      'my-tags',
    ])
    expect((await fsp.readdir(refDir(dir))).sort()).toEqual(['danbooru-excerpt.tsv', 'my-tags.tsv'])

    // --remove
    await ok(['tags', 'import', '--remove', 'danbooru-excerpt'], dir)
    expect(await fsp.readdir(refDir(dir))).toEqual(['my-tags.tsv'])
    expect(TagIndex.parse(await fsp.readFile(cachePath(dir)))?.size).toBe(2)
    await ok(['tags', 'import', '--remove', 'my-tags'], dir)
    expect(await fsp.readdir(refDir(dir))).toEqual([])
    expect(fs.existsSync(cachePath(dir))).toBe(false)
    expect(await json(['tags', 'import', '--list'], dir)).toEqual({references: []})
    const again = await lora(['tags', 'import', '--remove', 'my-tags'], dir)
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('my-tags')

    // Captions and tags.txt never changed.
    expect(await snapshot(join(dir, 'output'))).toEqual(output)
    expect(await stateProblems(dir)).toEqual([])
  })

  it('a missing file or no file is a usage error', async () => {
    const dir = await dataset([])
    expect((await lora(['tags', 'import', 'nope.csv'], dir)).code).toBe(2)
    expect((await lora(['tags', 'import'], dir)).code).toBe(2)
    expect(fs.existsSync(refDir(dir))).toBe(false)
  })

  it('a malformed CSV line deep in the file is skipped with one warning naming it (line 1234); the rest is imported', async () => {
    const dir = await dataset(CAPTIONS)
    const lines = (await read(EXCERPT)).split('\n')
    lines[1233] = 'broken_tag,general,5'
    const bad = join(await tempDir(), 'danbooru-bad.csv')
    await fsp.writeFile(bad, lines.join('\n'))

    const r = await ok(['tags', 'import', bad], dir)
    expect(stderrLines(r)).toEqual([
      'warning: Skipped 1 unusable row of danbooru-bad.csv (line 1234: category "general" is not a number from 0 to 99); the other rows were imported.',
      expect.stringMatching(
        /^Imported 2999 tags and \d+ aliases as reference vocabulary "danbooru-bad", categories: danbooru\.$/u,
      ),
    ])
    expect(r.stdout).toBe('')
    expect(TagIndex.parse(await fsp.readFile(cachePath(dir)))?.size).toBe(2999)
  })

  it('an unterminated quote costs its own line only (1234), not the rest of the file', async () => {
    const dir = await dataset([])
    const lines = (await read(EXCERPT)).split('\n')
    lines[1233] = 'long_hair,0,4350743,"/lh,longhair'
    const bad = join(await tempDir(), 'danbooru-quote.csv')
    await fsp.writeFile(bad, lines.join('\n'))
    const report = await json(['tags', 'import', bad], dir)
    expect(report).toMatchObject({
      tags: 2999,
      skipped: {count: 1, rows: [{line: 1234, problem: 'a quoted field is not closed on its line'}]},
    })
  })

  it('the index cache is used while fresh and rebuilt when a reference file changes', async () => {
    const dir = await dataset(CAPTIONS)
    await ok(['tags', 'import', EXCERPT], dir)
    const cache = cachePath(dir)
    const suggest = async (input: string) => {
      const ds = await openDataset(dir)
      const index = await loadTagIndex(ds)
      await index?.prepareFuzzy() // as the tagging session does (services/tagging-session.ts)
      const state = await ds.loadState()
      return {
        index,
        suggestions: new Suggester(
          await ds.loadVocabulary(),
          countTags(state.images.map((i) => i.tags)),
          index,
        ).suggest(input, new Set(), 10),
      }
    }

    // Fresh: loaded from the cache, which is left alone.
    const cached1 = await read(cache)
    const mtime1 = (await fsp.stat(cache)).mtimeMs
    const first = await suggest('long')
    expect(first.index?.size).toBe(3000)
    expect(first.index?.sourceKey).toBe(JSON.parse(cached1.slice(0, cached1.indexOf('\n'))).sourceKey)
    expect(first.suggestions.map((s) => s.tag).slice(0, 4)).toEqual([
      'longhair',
      'long hair',
      'long_sleeves',
      'long_skirt',
    ])
    // The dataset already has `long hair`: the alias inserts the dataset's own form.
    expect((await suggest('/lh')).suggestions[0]).toMatchObject({tag: 'long hair', match: 'alias'})
    expect(await read(cache)).toBe(cached1)
    expect((await fsp.stat(cache)).mtimeMs).toBe(mtime1)

    // Reimport with a filter: only characters are left, and suggestions change.
    await ok(['tags', 'import', EXCERPT, '--category', 'character'], dir)
    const cached2 = await read(cache)
    expect(cached2).not.toBe(cached1)
    const second = await suggest('long')
    const characters = readCsvIndependently(EXCERPT).filter((row) => row.category === 4).length
    expect(second.index?.size).toBe(characters)
    const fromIndex = second.suggestions.filter((s) => s.count === 0)
    expect(fromIndex.map((s) => s.tag)).not.toContain('long_sleeves')
    expect(fromIndex.every((s) => s.category === 4)).toBe(true)
    expect((await suggest('/lh')).suggestions.map((s) => s.tag)).not.toContain('long_hair')
    expect((await suggest('hats')).suggestions[0]?.tag).toBe('hatsune_miku')

    // The reference file changed by hand (not through lora): the next load rebuilds and rewrites the cache.
    const tsv = join(refDir(dir), 'danbooru-excerpt.tsv')
    const info = {
      name: 'danbooru-excerpt',
      source: 'hand-made',
      importedAt: new Date().toISOString(),
      tags: 1,
      filter: {},
    }
    await fsp.writeFile(
      tsv,
      serializeReference(info, [{name: 'my_only_tag', category: 0, count: 5, aliases: ['/mot']}]),
    )
    const third = await suggest('/mot')
    expect(third.index?.size).toBe(1)
    expect(third.suggestions).toEqual([expect.objectContaining({tag: 'my_only_tag', match: 'alias'})])
    const cached3 = await read(cache)
    expect(cached3).not.toBe(cached2)
    expect(TagIndex.parse(await fsp.readFile(cache))?.size).toBe(1)

    // A damaged cache is rebuilt.
    await fsp.writeFile(cache, 'garbage')
    expect((await suggest('my')).suggestions[0]?.tag).toBe('my_only_tag')
    expect(TagIndex.parse(await fsp.readFile(cache))?.size).toBe(1)
  })

  it('a stored reference edited by hand to hold a NUL is refused with the reimport hint, not an unexpected error', async () => {
    const dir = await dataset([])
    await ok(['tags', 'import', EXCERPT], dir)
    const stored = join(refDir(dir), 'danbooru-excerpt.tsv')
    const lines = (await read(stored)).split('\n')
    lines[1] = lines[1].replace(/^([^\t]+)/u, (name) => `${name.slice(0, 2)}\0${name.slice(2)}`)
    await fsp.writeFile(stored, lines.join('\n'))
    await fsp.rm(cachePath(dir), {force: true})
    const second = join(await makeTempDir('lora-ref-nul-'), 'mine.csv')
    await fsp.writeFile(second, 'my_tag,0,5,""\n')
    const r = await loraIn(['tags', 'import', second], {cwd: dir})
    expect([r.code, r.stderr]).toEqual([
      1,
      expect.stringMatching(
        /^error: The stored reference vocabulary, line 2: tag ".*\\x00.*" holds a control character \(U\+0000\)\.\nhint: Reimport it with `lora tags import FILE`\.\n$/u,
      ),
    ])
  })

  it('a cache file cut short is rebuilt, not an error', async () => {
    const dir = await dataset([])
    await ok(['tags', 'import', EXCERPT], dir)
    const cache = cachePath(dir)
    const whole = await read(cache)
    const failures: string[] = []
    for (let cut = 3; cut <= 10; cut++) {
      await fsp.writeFile(cache, whole.slice(0, whole.length - cut))
      try {
        const index = await loadTagIndex(await openDataset(dir))
        if (index?.size !== 3000) failures.push(`cut ${cut}: size ${index?.size}`)
      } catch (error) {
        failures.push(`cut ${cut}: ${(error as Error).name}: ${(error as Error).message}`)
      }
    }
    expect(failures).toEqual([])
  })

  itShared(
    'imports the full danbooru.csv (140,782 tags), and with filters',
    async () => {
      const dir = await dataset(CAPTIONS)
      const output = await snapshot(join(dir, 'output'))
      const all = await json(['tags', 'import', FULL_CSV], dir)
      expect(all).toMatchObject({name: 'danbooru', tags: 140782, filteredOut: 0})
      expect((await read(join(refDir(dir), 'danbooru.tsv'))).split('\n').filter(Boolean)).toHaveLength(140782 + 1)
      const index = await loadTagIndex(await openDataset(dir))
      expect(index?.size).toBe(140782)
      await index!.prepareFuzzy()
      const suggester = new Suggester([], new Map(), index)
      expect(suggester.suggest('longhair', new Set(), 5)[0]).toMatchObject({tag: 'long_hair', match: 'alias'})
      expect(suggester.suggest('long h', new Set(), 5)[0]).toMatchObject({tag: 'long_hair', match: 'prefix'})

      const rows = readCsvIndependently(FULL_CSV)
      expect(rows).toHaveLength(140782)
      const expected = rows.filter((row) => row.count >= 1000 && (row.category === 0 || row.category === 4)).length
      const filtered = await json(
        ['tags', 'import', FULL_CSV, '--min-count', '1000', '--category', 'general,character'],
        dir,
      )
      expect(filtered).toMatchObject({name: 'danbooru', tags: expected, filteredOut: 140782 - expected})
      expect(expected).toBeGreaterThan(1000)
      expect((await loadTagIndex(await openDataset(dir)))?.size).toBe(expected)
      expect(await fsp.readdir(refDir(dir))).toEqual(['danbooru.tsv'])
      expect(await snapshot(join(dir, 'output'))).toEqual(output)
    },
    120_000,
  )
})
