/**
 * Reference vocabularies (src/core/reference.ts): the a1111 tagcomplete CSV and plain-text parsers, the import
 * filters and the stored TSV form. Real fixture data: test/fixtures/vocab/danbooru-excerpt.csv (the first 3,000
 * rows of tagcomplete's danbooru.csv).
 */
import * as fs from 'node:fs'
import {join} from 'node:path'
import {LoraError} from '../../src/errors.js'
import {
  MAX_SKIPPED_SHOWN,
  ReferenceFormatError,
  type ReferenceInfo,
  type ReferenceTag,
  filterReference,
  parsePlainList,
  parseStoredReference,
  parseTagcompleteCsv,
  readTagcompleteCsv,
  referenceScheme,
  serializeReference,
} from '../../src/core/reference.js'
import {namedCategories} from '../../src/core/categories.js'
import {ROOT} from '../helpers.js'

const EXCERPT = join(ROOT, 'test', 'fixtures', 'vocab', 'danbooru-excerpt.csv')
const excerptText = fs.readFileSync(EXCERPT, 'utf8')
/** The excerpt's lines (the file ends with a newline, so the last split element is dropped). */
const excerptLines = excerptText.split('\n').slice(0, -1)

/**
 * An independent reading of one excerpt row (its names contain no quotes or commas, which the test checks):
 * `name,category,count,aliases` where aliases are either quoted or a single bare alias.
 */
function naiveRow(line: string): {name: string; category: number; count: number; aliases: string[]} {
  const m = /^([^",]+),(\d+),(\d+),(?:"([^"]*)"|([^",]*))$/u.exec(line)
  if (!m) throw new Error(`unexpected excerpt line: ${line}`)
  const aliasField = m[4] ?? m[5] ?? ''
  return {
    name: m[1],
    category: Number(m[2]),
    count: Number(m[3]),
    aliases: aliasField === '' ? [] : aliasField.split(','),
  }
}

/** Parses `text` expecting a ReferenceFormatError; returns it. */
async function formatError(text: string, source = 'bad.csv'): Promise<ReferenceFormatError> {
  let caught: unknown
  try {
    await parseTagcompleteCsv(text, source)
  } catch (error) {
    caught = error
  }
  if (caught === undefined)
    throw new Error(`expected a ReferenceFormatError for ${JSON.stringify(text.slice(0, 200))}, but it parsed`)
  expect(caught).toBeInstanceOf(ReferenceFormatError)
  return caught as ReferenceFormatError
}

/** The excerpt with line `n` (1-based) replaced by `line`. */
function excerptWithLine(n: number, line: string): string {
  const lines = [...excerptLines]
  lines[n - 1] = line
  return lines.join('\n') + '\n'
}

describe('parseTagcompleteCsv on the danbooru excerpt', () => {
  let tags: ReferenceTag[]
  beforeAll(async () => {
    tags = await parseTagcompleteCsv(excerptText, 'danbooru-excerpt.csv')
  })

  it('reads all 3,000 rows, in file order, with category, post count and aliases', () => {
    expect(excerptLines).toHaveLength(3000)
    expect(tags).toHaveLength(3000)
    expect(tags[0]).toEqual({name: '1girl', category: 0, count: 6008644, aliases: ['1girls', 'sole_female']})
    expect(tags[1]).toEqual({
      name: 'highres',
      category: 5,
      count: 5256195,
      aliases: ['high_res', 'high_resolution', 'hires'],
    })
    // Every row agrees with an independent reading of the line.
    const expected = excerptLines.map(naiveRow)
    expect(tags.map((t) => [t.name, t.category, t.count])).toEqual(expected.map((e) => [e.name, e.category, e.count]))
    expect(tags.map((t) => t.aliases)).toEqual(expected.map((e) => e.aliases.filter((a) => a !== e.name)))
  })

  it('keeps the `/` typing shorthands as aliases (`/lh` for long_hair)', () => {
    const longHair = tags.find((t) => t.name === 'long_hair')
    expect(longHair).toEqual({name: 'long_hair', category: 0, count: 4350743, aliases: ['/lh', 'longhair']})
    expect(tags.find((t) => t.name === 'breasts')?.aliases).toEqual([
      '/b',
      'boobs',
      'breast',
      'breats',
      'oppai',
      'tits',
    ])
    const shorthands = tags.flatMap((t) => t.aliases.filter((a) => a.startsWith('/')))
    expect(shorthands.length).toBeGreaterThan(10)
  })

  it('has only tagcomplete categories, and rows without aliases get []', () => {
    const known = new Set(namedCategories('danbooru').map((c) => c.number))
    expect(tags.every((t) => known.has(t.category))).toBe(true)
    const withoutAliases = excerptLines.filter((l) => l.endsWith(',')).length
    expect(withoutAliases).toBeGreaterThan(0)
    expect(tags.filter((t) => t.aliases.length === 0)).toHaveLength(withoutAliases)
    expect(tags.find((t) => t.name === 'zzz')).toBeDefined()
  })
})

describe('parseTagcompleteCsv: quoting and optional columns', () => {
  it('splits quoted aliases on commas, trimming each, dropping empty ones and the tag itself', async () => {
    expect(await parseTagcompleteCsv('cat_ears,0,100,"kitty ears , nekomimi,,cat_ears, /ce"\n', 'f.csv')).toEqual([
      {name: 'cat_ears', category: 0, count: 100, aliases: ['kitty ears', 'nekomimi', '/ce']},
    ])
  })

  it('reads RFC 4180 doubled quotes in names and aliases', async () => {
    const text = `"don't_say_""lazy""",0,1076,don't_say_lazy\n"a_""b""",3,5,"x_""y"",z"\n`
    expect(await parseTagcompleteCsv(text, 'f.csv')).toEqual([
      {name: `don't_say_"lazy"`, category: 0, count: 1076, aliases: [`don't_say_lazy`]},
      {name: 'a_"b"', category: 3, count: 5, aliases: ['x_"y"', 'z']},
    ])
  })

  it('accepts rows without the count or the aliases column (count 0, no aliases)', async () => {
    const text = 'only_category,1\nno_aliases,3,7\nempty_count,4,,"x,y"\nempty_both,5,,\n'
    expect(await parseTagcompleteCsv(text, 'f.csv')).toEqual([
      {name: 'only_category', category: 1, count: 0, aliases: []},
      {name: 'no_aliases', category: 3, count: 7, aliases: []},
      {name: 'empty_count', category: 4, count: 0, aliases: ['x', 'y']},
      {name: 'empty_both', category: 5, count: 0, aliases: []},
    ])
  })

  it('skips blank lines, drops a BOM and reads CRLF files', async () => {
    expect(await parseTagcompleteCsv('\uFEFFa,0,5\r\n\r\nb,1,6\r\n', 'f.csv')).toEqual([
      {name: 'a', category: 0, count: 5, aliases: []},
      {name: 'b', category: 1, count: 6, aliases: []},
    ])
  })

  it('normalises white space in names (trimmed, inner runs collapsed)', async () => {
    expect(await parseTagcompleteCsv('  long   hair ,0, 5 ,\n', 'f.csv')).toEqual([
      {name: 'long hair', category: 0, count: 5, aliases: []},
    ])
  })
})

describe('readTagcompleteCsv: rows no tool can use are skipped and counted', () => {
  /** The skipped rows of a reading, as `line: problem`. */
  const skippedOf = async (text: string) =>
    (await readTagcompleteCsv(text, 'f.csv')).skipped.map((r) => `${r.line}: ${r.problem}`)

  it('an empty name, a bad category, too many or too few columns: skipped with their line; the rest is read', async () => {
    const text =
      'a,0,5\n,0,1983,\nb,general,5\n\nc,0,5,"x,y",extra\njust_a_name\nd,-1,5\ne,,5\nf,100,1\ng,0,1\nh,1,2\ni,3,3\nj,4,4\nk,5,5\nl,5,5\nm,5,5\n'
    const reading = await readTagcompleteCsv(text, 'f.csv')
    expect(reading.tags.map((t) => t.name)).toEqual(['a', 'g', 'h', 'i', 'j', 'k', 'l', 'm'])
    expect(reading.rows).toBe(15)
    expect(reading.skippedCount).toBe(7)
    expect(reading.skipped).toEqual([
      {line: 2, problem: 'empty tag name'},
      {line: 3, problem: 'category "general" is not a number from 0 to 99'},
      {line: 5, problem: '5 columns (at most 4)'},
      {line: 6, problem: 'only 1 column'},
      {line: 7, problem: 'category "-1" is not a number from 0 to 99'},
      {line: 8, problem: 'empty category'},
      {line: 9, problem: 'category "100" is not a number from 0 to 99'},
    ])
  })

  it("the real `,0,1983,` row of tagcomplete's e621.csv deep in the excerpt costs one row", async () => {
    for (const bad of [',0,1983,', 'broken_tag,general,5', 'broken_tag,0,5,"x",extra']) {
      const reading = await readTagcompleteCsv(excerptWithLine(1234, bad), 'danbooru-bad.csv')
      expect([bad, reading.tags.length, reading.skippedCount, reading.skipped[0]?.line]).toEqual([bad, 2999, 1, 1234])
    }
  })

  it("a post count that is not a number counts as 0 (tagcomplete's extra files put a description there)", async () => {
    expect(await parseTagcompleteCsv('a,0,5\nb,0,1.5\nc,5,Quality tag,,\n', 'f.csv')).toEqual([
      {name: 'a', category: 0, count: 5, aliases: []},
      {name: 'b', category: 0, count: 0, aliases: []},
      {name: 'c', category: 5, count: 0, aliases: []},
    ])
  })

  it('empty columns after the 4th are not counted (`,,` ends the rows of extra-quality-tags.csv)', async () => {
    const text = fs.readFileSync(join(ROOT, 'test', 'fixtures', 'vocab', 'extra-quality-tags.csv'), 'utf8')
    const reading = await readTagcompleteCsv(text, 'extra-quality-tags.csv')
    expect(reading.skippedCount).toBe(0)
    expect(reading.tags.map((t) => [t.name, t.category, t.count])).toEqual([
      ['masterpiece', 5, 0],
      ['best_quality', 5, 0],
      ['high_quality', 5, 0],
      ['normal_quality', 5, 0],
      ['low_quality', 5, 0],
      ['worst_quality', 5, 0],
    ])
  })

  it('a tag name holding a comma (a quoted field): skipped, as a caption would split it in two', async () => {
    expect(await skippedOf('a,0,5\n"foo,bar",0,5\nc,0,3\n')).toEqual([
      '2: the tag name holds a comma (captions separate tags with commas)',
    ])
  })

  it('a plain list line holding commas gives one tag per piece', () => {
    expect(parsePlainList('red hair, blue eyes\nsmile\n').map((t) => t.name)).toEqual([
      'red hair',
      'blue eyes',
      'smile',
    ])
  })

  it('a quote not closed on its line costs that line only (tagcomplete ends a row at the line end)', async () => {
    expect(await skippedOf('a,0,5\nb,0,5,"x,y\nc,0,3\nd,0,2\n')).toEqual([
      '2: a quoted field is not closed on its line',
    ])
    const deep = await readTagcompleteCsv(excerptWithLine(1234, 'long_hair,0,4350743,"/lh,longhair'), 'd.csv')
    expect(deep.tags).toHaveLength(2999)
    expect(deep.skipped).toEqual([{line: 1234, problem: 'a quoted field is not closed on its line'}])
    // A quoted field running over a line end is two broken rows, as tagcomplete reads it; later lines keep their numbers.
    expect(await skippedOf('a,0,5,"x,\ny"\nb,0,5\nc,k,1\nd,0,1\ne,0,1\n')).toEqual([
      '1: a quoted field is not closed on its line',
      '2: a quote in the middle of a field',
      '4: category "k" is not a number from 0 to 99',
    ])
  })

  it('CRLF line endings count lines the same way; blank lines are not rows', async () => {
    const reading = await readTagcompleteCsv('a,0,5\r\nb,0,5\r\n\r\nc,x,1\r\n  \r\nd,0,1\r\n', 'f.csv')
    expect(reading.rows).toBe(4)
    expect(reading.skipped).toEqual([{line: 4, problem: 'category "x" is not a number from 0 to 99'}])
  })

  it('keeps the first 10 skipped rows and counts them all', async () => {
    const good = Array.from({length: 30}, (_, i) => `t${i},0,${i}`)
    const bad = Array.from({length: 25}, () => ',0,1')
    const reading = await readTagcompleteCsv([...good, ...bad].join('\n') + '\n', 'f.csv')
    expect(reading.skippedCount).toBe(25)
    expect(reading.skipped).toHaveLength(MAX_SKIPPED_SHOWN)
    expect(reading.skipped[0].line).toBe(31)
  })
})

describe('readTagcompleteCsv: a file that is not this CSV shape at all is refused', () => {
  it('more unusable rows than usable ones: refused, naming the count and the first lines; nothing read', async () => {
    const error = await formatError('file,caption,tags\nimg_0001.jpg,"a, b",a\nimg_0002.jpg,c,c\nx,0,1\n', 'my.csv')
    expect(error.message).toBe(
      'my.csv is not an a1111 tagcomplete CSV: 3 of 4 rows are unusable (line 1: category "caption" is not a number from 0 to 99; line 2: category "a, b" is not a number from 0 to 99; line 3: category "c" is not a number from 0 to 99). Nothing was imported.',
    )
    expect(error.code).toBe('reference-format')
    expect(error.exitCode).toBe(1)
    expect(error.hint).toContain('name,category,post_count')
    expect(error.hint).not.toContain('--format')
    expect(error).toBeInstanceOf(LoraError)
  })

  it('half unusable is still imported; no usable row at all, or an empty file, is refused', async () => {
    expect((await readTagcompleteCsv('a,0,1\n,0,2\n', 'f.csv')).tags).toHaveLength(1)
    expect((await formatError(',0,1983,\n')).message).toContain('1 of 1 rows are unusable (line 1: empty tag name)')
    expect((await formatError('')).message).toBe('bad.csv holds no rows. Nothing was imported.')
    expect((await formatError('\n\n')).message).toBe('bad.csv holds no rows. Nothing was imported.')
  })

  it('more than 3 unusable rows: the message names 3 and ends with "…"', async () => {
    expect((await formatError('1\n2\n3\n4\na,0,1\n')).message).toContain(
      '4 of 5 rows are unusable (line 1: only 1 column; line 2: only 1 column; line 3: only 1 column; …)',
    )
  })
})

describe('parsePlainList', () => {
  it('reads one tag per line, skipping comments, blank lines and repeats', () => {
    const text = '# my tags\nred hair\n\n  blue_eyes  \n   # indented comment\nred hair\nsmile\r\nred   hair\nsmile\n\n'
    expect(parsePlainList(text)).toEqual([
      {name: 'red hair', category: -1, count: 0, aliases: []},
      {name: 'blue_eyes', category: -1, count: 0, aliases: []},
      {name: 'smile', category: -1, count: 0, aliases: []},
    ])
  })

  it('drops a BOM, keeps `#` inside a tag, and gives [] for an empty file', () => {
    expect(parsePlainList('\uFEFFa\nc#\n').map((t) => t.name)).toEqual(['a', 'c#'])
    expect(parsePlainList('')).toEqual([])
    expect(parsePlainList('# only a comment\n\n')).toEqual([])
  })
})

describe('filterReference', () => {
  const tags: ReferenceTag[] = [
    {name: 'a', category: 0, count: 10, aliases: []},
    {name: 'b', category: 4, count: 100, aliases: ['bb']},
    {name: 'c', category: 1, count: 99, aliases: []},
    {name: 'd', category: 0, count: 1000, aliases: []},
    {name: 'e', category: -1, count: 0, aliases: []},
  ]
  const names = (list: ReferenceTag[]) => list.map((t) => t.name)

  it('keeps everything without filters', () => {
    expect(filterReference(tags, {})).toEqual(tags)
  })

  it('--min-count keeps tags with at least that post count (inclusive)', () => {
    expect(names(filterReference(tags, {minCount: 100}))).toEqual(['b', 'd'])
    expect(names(filterReference(tags, {minCount: 0}))).toEqual(['a', 'b', 'c', 'd', 'e'])
  })

  it('--category keeps the listed category numbers', () => {
    expect(names(filterReference(tags, {categories: [0]}))).toEqual(['a', 'd'])
    expect(names(filterReference(tags, {categories: [0, 4]}))).toEqual(['a', 'b', 'd'])
    expect(filterReference(tags, {categories: []})).toEqual([])
  })

  it('both filters together', () => {
    expect(names(filterReference(tags, {minCount: 50, categories: [0, 4]}))).toEqual(['b', 'd'])
  })

  it('on the excerpt: counts agree with an independent reading', async () => {
    const all = await parseTagcompleteCsv(excerptText, 'x.csv')
    const rows = excerptLines.map(naiveRow)
    expect(filterReference(all, {minCount: 100000})).toHaveLength(rows.filter((r) => r.count >= 100000).length)
    expect(filterReference(all, {categories: [0]})).toHaveLength(rows.filter((r) => r.category === 0).length)
    const both = filterReference(all, {minCount: 20000, categories: [0, 4]})
    expect(both).toHaveLength(rows.filter((r) => r.count >= 20000 && (r.category === 0 || r.category === 4)).length)
    expect(both.length).toBeGreaterThan(0)
    expect(both.length).toBeLessThan(all.length)
  })
})

describe('referenceScheme: the category scheme of a stored reference', () => {
  it('the recorded one; an unknown one reads numbers; none (an older lora): from the source file name', () => {
    expect(referenceScheme({categories: 'e621', source: '/x/danbooru.csv'})).toBe('e621')
    expect(referenceScheme({categories: 'derpibooru', source: '/x/danbooru.csv'})).toBe('numbers')
    expect(referenceScheme({source: '/x/danbooru.csv'})).toBe('danbooru')
    expect(referenceScheme({source: '/x/e621_sfw.csv'})).toBe('e621')
    expect(referenceScheme({source: '/x/my-tags.txt'})).toBe('numbers')
  })
})

describe('stored form (serializeReference / parseStoredReference)', () => {
  const info: ReferenceInfo = {
    name: 'danbooru-excerpt',
    source: '/data/danbooru.csv',
    importedAt: '2024-05-01T12:00:00.000Z',
    tags: 3000,
    filter: {minCount: 10, categories: [0, 4]},
  }

  it('round-trips the excerpt exactly, after a header line', async () => {
    const tags = await parseTagcompleteCsv(excerptText, 'x.csv')
    const text = serializeReference({...info, tags: tags.length}, tags)
    expect(text.startsWith('# lora reference ')).toBe(true)
    expect(text.endsWith('\n')).toBe(true)
    expect(text.split('\n')).toHaveLength(3000 + 2)
    expect(text.split('\n')[4]).toBe('long_hair\t0\t4350743\t/lh,longhair')
    expect(parseStoredReference(text)).toEqual({info: {...info, tags: 3000}, tags})
  })

  it('round-trips plain lists, odd names and an empty list', () => {
    const tags: ReferenceTag[] = [
      {name: '# not a comment', category: -1, count: 0, aliases: []},
      {name: '猫耳 (cat)', category: 4, count: 12, aliases: ['/ne', 'nekomimi']},
      {name: '^_^', category: 0, count: 5, aliases: []},
    ]
    expect(parseStoredReference(serializeReference(info, tags))).toEqual({info, tags})
    // Import never stores a name holding a comma; one written there by hand (a stranger's dataset) is left out:
    // picked in the prompt, it would be saved as two tags.
    const planted = serializeReference(info, [{name: 'evil, injected', category: 0, count: 9, aliases: []}, ...tags])
    expect(parseStoredReference(planted)).toEqual({info, tags})
    expect(parseStoredReference(serializeReference({...info, tags: 0, filter: {}}, []))).toEqual({
      info: {...info, tags: 0, filter: {}},
      tags: [],
    })
  })

  it('rejects a file without the header', () => {
    expect(() => parseStoredReference('long_hair\t0\t5\t\n')).toThrow(LoraError)
    expect(() => parseStoredReference('')).toThrow(LoraError)
  })
})
