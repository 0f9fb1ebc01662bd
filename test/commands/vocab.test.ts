/**
 * Reference vocabularies from the real world (issue 13), in-process on the built dist/: tagcomplete CSVs with rows no
 * tool can use (skipped with one warning; the file refused only when it is not this CSV shape at all), category
 * schemes per reference (`--categories danbooru|e621|numbers`, chosen from the file name, stored with the
 * reference, used by `--category`, `--list` and the suggestions), and two small lies of `lora tags`: `rename`'s
 * vocabulary report and `rm` of a tag that is nowhere. Fixtures: test/fixtures/vocab (real tagcomplete rows; see its
 * README).
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {openDataset} from '../../src/store/dataset.js'
import {serializeReference} from '../../src/core/reference.js'
import {Suggester} from '../../src/core/vocabulary.js'
import {loadTagIndex} from '../../src/services/references.js'
import {ROOT} from '../helpers.js'
import {cleanupTemps, tempDir} from '../e2e/e2e-helpers.js'
import {initDataset, lora, loraJson, loraOk} from './command-helpers.js'
import {read, snapshot, stderrLines, vocabulary} from '../tags-helpers.js'

const VOCAB = join(ROOT, 'test', 'fixtures', 'vocab')
const BAD_ROWS = join(VOCAB, 'e621-bad-rows.csv')
const E621 = join(VOCAB, 'e621-excerpt.csv')
const DANBOORU = join(VOCAB, 'danbooru-excerpt.csv')
const EXTRA = join(VOCAB, 'extra-quality-tags.csv')

afterAll(cleanupTemps)

let template: string
beforeAll(async () => {
  template = await initDataset({names: ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg']})
}, 60_000)

/** A fresh copy of the two-image template dataset, with captions `captions[i]` for img i+1 when given. */
async function dataset(captions: string[] = []): Promise<string> {
  const dir = join(await tempDir(), 'imgs')
  await fsp.cp(template, dir, {recursive: true})
  const lines = captions.map((c, i) => `img_000${i + 1}\t${c}\n`).join('')
  if (lines) await loraOk(['tag', '--stdin'], {cwd: dir, input: lines})
  return dir
}

const refDir = (dir: string) => join(dir, '.lora-tagger', 'reference')

/** The suggestions of the dataset's autocomplete for `input` (as the tagging session builds them). */
async function suggest(dir: string, input: string, limit = 5) {
  const ds = await openDataset(dir)
  return new Suggester(await ds.loadVocabulary(), new Map(), await loadTagIndex(ds)).suggest(input, new Set(), limit)
}

describe('lora tags import: rows no tool can use', () => {
  it('are skipped and counted in one warning line naming the first lines; the rest is imported (exit 0)', async () => {
    const dir = await dataset()
    const r = await loraOk(['tags', 'import', BAD_ROWS], {cwd: dir})
    expect(stderrLines(r)).toEqual([
      'warning: Skipped 4 unusable rows of e621-bad-rows.csv (line 3: category "species" is not a number from 0 to 99; line 6: empty tag name; line 9: 5 columns (at most 4); 1 more); the other rows were imported.',
      'Imported 12 tags and 36 aliases as reference vocabulary "e621-bad-rows", categories: e621.',
    ])
    expect(r.stdout).toBe('')
    expect(r.stderr).not.toContain('--format')

    const report = await loraJson(['tags', 'import', BAD_ROWS], {cwd: dir})
    expect(report).toMatchObject({name: 'e621-bad-rows', tags: 12, categories: 'e621', filteredOut: 0})
    expect(report.skipped).toEqual({
      count: 4,
      rows: [
        {line: 3, problem: 'category "species" is not a number from 0 to 99'},
        {line: 6, problem: 'empty tag name'},
        {line: 9, problem: '5 columns (at most 4)'},
        {line: 13, problem: 'a quoted field is not closed on its line'},
      ],
    })
    // The rows after each bad one are there, with their categories; the bad ones are not.
    expect((await suggest(dir, 'black_bear'))[0]).toMatchObject({tag: 'black_bear', category: 5, scheme: 'e621'})
    expect((await suggest(dir, 'maud'))[0]).toMatchObject({tag: 'maud_pie_(mlp)', category: 4})
    expect((await suggest(dir, 'unclosed')).map((s) => s.tag)).toEqual([])
    expect((await suggest(dir, 'broken')).map((s) => s.tag)).toEqual([])
  })

  it("tagcomplete's extra-quality-tags.csv (5 columns, a description for the count) imports whole, no warning", async () => {
    const dir = await dataset()
    const r = await loraOk(['tags', 'import', EXTRA], {cwd: dir})
    expect(stderrLines(r)).toEqual([
      'Imported 6 tags and 0 aliases as reference vocabulary "extra-quality-tags", categories: numbers.',
    ])
  })

  it('says "1 tag and 1 alias" for one of each, "2 tags and 3 aliases" for more (not "tag(s)", "alias(es)")', async () => {
    const dir = await dataset()
    const tmp = await tempDir()
    await fsp.writeFile(join(tmp, 'one.csv'), 'red hair,0,10,"redhead"\n')
    await fsp.writeFile(join(tmp, 'two.csv'), 'red hair,0,10,"redhead,red_hair"\nsmile,0,5,"smiling"\n')
    expect(stderrLines(await loraOk(['tags', 'import', join(tmp, 'one.csv')], {cwd: dir}))).toEqual([
      'Imported 1 tag and 1 alias as reference vocabulary "one", categories: numbers.',
    ])
    expect(stderrLines(await loraOk(['tags', 'import', join(tmp, 'two.csv')], {cwd: dir}))).toEqual([
      'Imported 2 tags and 3 aliases as reference vocabulary "two", categories: numbers.',
    ])
  })

  it('a CSV that is not this shape at all (lora export of another dataset) is refused; nothing changes', async () => {
    const dir = await dataset(['sky, kite', 'path, autumn'])
    const exported = join(await tempDir(), 'captions.csv')
    await loraOk(['export', exported, '--format', 'csv'], {cwd: dir})
    const before = await snapshot(dir)
    const r = await lora(['tags', 'import', exported], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /^error: .*captions\.csv is not an a1111 tagcomplete CSV: 3 of 3 rows are unusable \(line 1: /u,
    )
    expect(r.stderr).toContain('Nothing was imported.')
    expect(r.stderr).toMatch(/hint: .*name,category,post_count/u)
    expect(r.stderr).not.toContain('--format')
    expect(await snapshot(dir)).toEqual(before)
    expect(fs.existsSync(refDir(dir))).toBe(false)

    // An earlier import of the same name stays as it was.
    await loraOk(['tags', 'import', E621, '--name', 'captions'], {cwd: dir})
    const imported = await snapshot(join(dir, '.lora-tagger'))
    expect((await lora(['tags', 'import', exported], {cwd: dir})).code).toBe(1)
    expect(await snapshot(join(dir, '.lora-tagger'))).toEqual(imported)
  })

  it('a file of only `,0,1983,` rows, or an empty one, is refused; more than half bad is refused too', async () => {
    const dir = await dataset()
    const tmp = await tempDir()
    const cases: [string, string, RegExp][] = [
      ['empty-names.csv', ',0,1983,\n,0,12,\n', /2 of 2 rows are unusable \(line 1: empty tag name; line 2: empty/u],
      ['empty.csv', '', /empty\.csv holds no rows\. Nothing was imported\./u],
      ['mostly-bad.csv', 'a,0,1\n,0,1\nb,x,1\n', /2 of 3 rows are unusable/u],
    ]
    for (const [name, text, message] of cases) {
      await fsp.writeFile(join(tmp, name), text)
      const r = await lora(['tags', 'import', join(tmp, name)], {cwd: dir})
      expect([name, r.code]).toEqual([name, 1])
      expect(r.stderr).toMatch(message)
      expect(r.stderr).not.toContain('--format')
    }
    expect(fs.existsSync(refDir(dir))).toBe(false)
    // Half bad is imported, with the warning.
    await fsp.writeFile(join(tmp, 'half.csv'), 'a,0,1\n,0,1\n')
    const half = await loraOk(['tags', 'import', join(tmp, 'half.csv')], {cwd: dir})
    expect(stderrLines(half)[0]).toBe(
      'warning: Skipped 1 unusable row of half.csv (line 2: empty tag name); the other rows were imported.',
    )
  })
})

describe('category schemes', () => {
  it('e621*.csv reads e621: --category species keeps the species rows; --list shows the scheme and names', async () => {
    const dir = await dataset()
    const all = await loraJson(['tags', 'import', E621], {cwd: dir})
    expect(all).toMatchObject({name: 'e621-excerpt', tags: 35, categories: 'e621'})
    const species = await loraJson(['tags', 'import', E621, '--category', 'species,lore'], {cwd: dir})
    expect(species).toMatchObject({tags: 7, filteredOut: 28, filter: {categories: [5, 8]}, categories: 'e621'})
    const stored = await read(join(refDir(dir), 'e621-excerpt.tsv'))
    expect(JSON.parse(stored.slice('# lora reference '.length, stored.indexOf('\n')))).toMatchObject({
      categories: 'e621',
    })
    const list = await loraOk(['tags', 'import', '--list'], {cwd: dir})
    expect(list.stdout).toMatch(/^e621-excerpt\t7 tags\tcategories: e621\t.*\tcategory species,lore\n$/u)
    expect((await loraJson(['tags', 'import', '--list'], {cwd: dir})).references).toEqual([
      expect.objectContaining({name: 'e621-excerpt', categories: 'e621', filter: {categories: [5, 8]}}),
    ])
    // Suggestions carry the scheme, so the prompt says "species", not "meta".
    expect((await suggest(dir, 'canid'))[0]).toMatchObject({tag: 'canid', category: 5, scheme: 'e621'})
  })

  it('--category species on a danbooru or a numbers reference is a usage error naming the valid names', async () => {
    const dir = await dataset()
    const danbooru = await lora(['tags', 'import', DANBOORU, '--category', 'species'], {cwd: dir})
    expect(danbooru.code).toBe(2)
    expect(danbooru.stderr).toContain('Unknown category "species" for danbooru-excerpt.csv (categories: danbooru).')
    expect(danbooru.stderr).toContain('Use general, artist, copyright, character, meta or their numbers')
    expect(danbooru.stderr).toContain('--categories e621')

    const mine = join(await tempDir(), 'my-booru.csv')
    await fsp.copyFile(E621, mine)
    const numbers = await lora(['tags', 'import', mine, '--category', 'species'], {cwd: dir})
    expect(numbers.code).toBe(2)
    expect(numbers.stderr).toContain('(categories: numbers)')
    expect(numbers.stderr).toContain('give numbers')
    expect(fs.existsSync(refDir(dir))).toBe(false)

    // Another name: numbers by default; --categories e621 makes species work.
    expect(await loraJson(['tags', 'import', mine, '--category', '5'], {cwd: dir})).toMatchObject({
      tags: 5,
      categories: 'numbers',
    })
    expect((await suggest(dir, 'canid'))[0]).toMatchObject({category: 5, scheme: 'numbers'})
    expect(
      await loraJson(['tags', 'import', mine, '--categories', 'e621', '--category', 'species'], {cwd: dir}),
    ).toMatchObject({tags: 5, categories: 'e621'})
    expect((await suggest(dir, 'canid'))[0]).toMatchObject({category: 5, scheme: 'e621'})
    // And --categories overrides a well-known name.
    expect(await loraJson(['tags', 'import', DANBOORU, '--categories', 'numbers'], {cwd: dir})).toMatchObject({
      categories: 'numbers',
    })
    const bogus = await lora(['tags', 'import', E621, '--categories', 'derpibooru'], {cwd: dir})
    expect(bogus.code).toBe(2)
    expect(bogus.stderr).toMatch(/danbooru, e621, numbers/u)
  })

  it('danbooru and e621 references side by side: the same number 5 reads meta and species', async () => {
    const dir = await dataset()
    await loraOk(['tags', 'import', DANBOORU], {cwd: dir})
    await loraOk(['tags', 'import', E621], {cwd: dir})
    expect((await suggest(dir, 'highres'))[0]).toMatchObject({tag: 'highres', category: 5, scheme: 'danbooru'})
    expect((await suggest(dir, 'mammal'))[0]).toMatchObject({tag: 'mammal', category: 5, scheme: 'e621'})
  })

  it('a reference stored without a scheme reads it from its source name; an unknown scheme reads numbers', async () => {
    const dir = await dataset()
    await fsp.mkdir(refDir(dir), {recursive: true})
    const info = (name: string, source: string, categories?: string) => ({
      name,
      source,
      importedAt: '2024-01-01T00:00:00.000Z',
      tags: 1,
      filter: {categories: [5]},
      ...(categories === undefined ? {} : {categories}),
    })
    const tag = (name: string) => [{name, category: 5, count: 10, aliases: []}]
    await fsp.writeFile(join(refDir(dir), 'old.tsv'), serializeReference(info('old', '/x/e621.csv'), tag('wolf')))
    await fsp.writeFile(
      join(refDir(dir), 'odd.tsv'),
      serializeReference(info('odd', '/x/danbooru.csv', 'derpibooru'), tag('pony')),
    )
    expect((await suggest(dir, 'wolf'))[0]).toMatchObject({category: 5, scheme: 'e621'})
    expect((await suggest(dir, 'pony'))[0]).toMatchObject({category: 5, scheme: 'numbers'})
    const list = await loraOk(['tags', 'import', '--list'], {cwd: dir})
    expect(list.stdout.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^odd\t1 tags\tcategories: numbers\t.*\tcategory 5$/u),
      expect.stringMatching(/^old\t1 tags\tcategories: e621\t.*\tcategory species$/u),
    ])
  })
})

describe('lora tags rename: the vocabulary report', () => {
  it('--json lists NEW in vocabulary.added; the human line says it in words, never "vocabulary -1"', async () => {
    const dir = await dataset(['sky, smile', 'smile'])
    const report = await loraJson(['tags', 'rename', 'smile', 'grin'], {cwd: dir})
    expect(report.vocabulary).toEqual({added: ['grin'], removed: ['smile']})
    expect(await vocabulary(dir)).toBe('grin\nsky\n')

    const r = await loraOk(['tags', 'rename', 'grin', 'big grin'], {cwd: dir})
    expect(stderrLines(r)).toEqual([
      'Renamed "grin" → "big grin" in 2 captions; tags.txt: added "big grin", removed "grin".',
    ])
    expect(r.stderr).not.toMatch(/vocabulary [+-]/u)

    // Merging into a tag tags.txt has: only OLD goes.
    const merged = await loraOk(['tags', 'rename', 'sky', 'big grin', '--json'], {cwd: dir})
    expect(JSON.parse(merged.stdout).vocabulary).toEqual({added: [], removed: ['sky']})
    const human = await loraOk(['tags', 'rename', 'big grin', 'sky', '--dry-run'], {cwd: dir})
    expect(stderrLines(human).at(-1)).toBe(
      'Renamed "big grin" → "sky" in 2 captions; tags.txt: added "sky", removed "big grin" (dry run; nothing written).',
    )
  })
})

describe('lora tags rm of a tag that is nowhere', () => {
  it('warns on stderr with close matches, exit 0, and lists it in --json notFound; the others are removed', async () => {
    const dir = await dataset(['watermark, long hair, sky', 'long hair, smile'])
    const before = await snapshot(dir)
    const r = await loraOk(['tags', 'rm', 'watermrk'], {cwd: dir})
    expect(stderrLines(r)).toEqual([
      'warning: "watermrk" is in no caption and not in tags.txt; nothing to remove. Did you mean "watermark"?',
      'Nothing was removed.',
    ])
    expect(r.stdout).toBe('')
    expect(await snapshot(dir)).toEqual(before)

    const none = await loraOk(['tags', 'rm', 'zebra'], {cwd: dir})
    expect(stderrLines(none)[0]).toBe('warning: "zebra" is in no caption and not in tags.txt; nothing to remove.')

    const both = await loraJson(['tags', 'rm', 'sky', 'longhair', '--dry-run'], {cwd: dir})
    expect(both).toMatchObject({changed: 1, notFound: [{tag: 'longhair', closeMatches: ['long hair']}]})
    expect(await snapshot(dir)).toEqual(before)
    // The summary names only the tags that were somewhere.
    const human = await loraOk(['tags', 'rm', 'sky', 'longhair', '--dry-run'], {cwd: dir})
    expect(stderrLines(human).at(-1)).toMatch(/^Removed "sky" from 1 caption\b/u)
    const removed = await loraJson(['tags', 'rm', 'sky', 'longhair'], {cwd: dir})
    expect(removed).toMatchObject({
      changed: 1,
      vocabulary: {added: [], removed: ['sky']},
      notFound: [{tag: 'longhair', closeMatches: ['long hair']}],
    })
    expect(await vocabulary(dir)).toBe('long hair\nsmile\nwatermark\n')

    // A tag only in tags.txt is found (and removed): no warning.
    await loraOk(['tags', 'add', 'unused tag'], {cwd: dir})
    const vocabOnly = await loraOk(['tags', 'rm', 'unused tag'], {cwd: dir})
    expect(vocabOnly.stderr).not.toContain('warning')
    expect(stderrLines(vocabOnly)).toEqual(['Removed "unused tag" from 0 captions; tags.txt: removed "unused tag".'])
  })
})
