/**
 * Reference vocabularies (src/core/reference.ts): the a1111 tagcomplete CSV and plain-text parsers, the import
 * filters and the stored TSV form. Real fixture data: test/fixtures/vocab/danbooru-excerpt.csv (the first 3,000
 * rows of tagcomplete's danbooru.csv).
 */
import * as fs from 'node:fs'
import {join} from 'node:path'
import {LoraError} from '../../src/errors.js'
import {
  CATEGORIES,
  ReferenceFormatError,
  type ReferenceInfo,
  type ReferenceTag,
  categoryName,
  filterReference,
  parsePlainList,
  parseStoredReference,
  parseTagcompleteCsv,
  serializeReference,
} from '../../src/core/reference.js'
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

/** The line number a ReferenceFormatError names (`<source>, line N: ...`). */
function lineOf(error: Error): number {
  const m = /, line (\d+):/u.exec(error.message)
  if (!m) throw new Error(`no line number in: ${error.message}`)
  return Number(m[1])
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
    const known = new Set(Object.values(CATEGORIES))
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
    expect(await parseTagcompleteCsv('', 'f.csv')).toEqual([])
  })

  it('normalises white space in names (trimmed, inner runs collapsed)', async () => {
    expect(await parseTagcompleteCsv('  long   hair ,0, 5 ,\n', 'f.csv')).toEqual([
      {name: 'long hair', category: 0, count: 5, aliases: []},
    ])
  })
})

describe('parseTagcompleteCsv: malformed lines', () => {
  it('a bad category names its line (1-based, blank lines counted) and the problem', async () => {
    const error = await formatError('a,0,5\n\n\nb,general,5\nc,0,1\n', 'my.csv')
    expect(lineOf(error)).toBe(4)
    expect(error.message).toContain('my.csv, line 4')
    expect(error.message).toContain('general')
    expect(error.message).toMatch(/nothing was imported/iu)
    expect(error.code).toBe('reference-format')
    expect(error.exitCode).toBe(1)
    expect(error.hint).toBeTruthy()
    expect(error).toBeInstanceOf(LoraError)
  })

  it('a negative or empty category is not a number', async () => {
    expect(lineOf(await formatError('a,0,5\nb,-1,5\n'))).toBe(2)
    expect(lineOf(await formatError('a,0,5\nb,,5\n'))).toBe(2)
  })

  it('a bad post count names its line', async () => {
    const error = await formatError('a,0,5\nb,0,5\n\nc,0,1.5\n')
    expect(lineOf(error)).toBe(4)
    expect(error.message).toContain('1.5')
    expect(lineOf(await formatError('a,0,many\n'))).toBe(1)
  })

  it('too many or too few columns name their line', async () => {
    const tooMany = await formatError('a,0,5\nb,0,5,"x,y",extra\n')
    expect(lineOf(tooMany)).toBe(2)
    expect(tooMany.message).toMatch(/5/u)
    expect(lineOf(await formatError('a,0,5\nb,0,5\njust_a_name\n'))).toBe(3)
  })

  it('an empty tag name names its line', async () => {
    expect(lineOf(await formatError('a,0,5\n,0,5\n'))).toBe(2)
  })

  it('CRLF line endings count lines the same way', async () => {
    expect(lineOf(await formatError('a,0,5\r\nb,0,5\r\n\r\nc,x,1\r\n'))).toBe(4)
  })

  it('a record spanning lines (newline inside quotes) does not shift later line numbers', async () => {
    expect(lineOf(await formatError('a,0,5,"x,\ny"\nb,0,5\nc,k,1\n'))).toBe(4)
  })

  it('bad lines deep in the excerpt are reported at their own line (1234)', async () => {
    for (const bad of ['broken_tag,general,5', 'broken_tag,0,lots', 'broken_tag,0,5,"x",extra', ',0,5']) {
      const error = await formatError(excerptWithLine(1234, bad), 'danbooru-bad.csv')
      expect([bad, lineOf(error)]).toEqual([bad, 1234])
    }
  })

  it('an unterminated quote names the line where the quote opens', async () => {
    // The quote opened on line 2 never closes, so the parser runs on to the end of the file.
    const short = await formatError('a,0,5\nb,0,5,"x,y\nc,0,3\nd,0,2\n')
    expect(lineOf(short)).toBe(2)
    const deep = await formatError(excerptWithLine(1234, 'long_hair,0,4350743,"/lh,longhair'), 'danbooru-bad.csv')
    expect(lineOf(deep)).toBe(1234)
    expect(deep.message).toMatch(/quote/iu)
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
    expect(names(filterReference(tags, {categories: [CATEGORIES.general]}))).toEqual(['a', 'd'])
    expect(names(filterReference(tags, {categories: [CATEGORIES.general, CATEGORIES.character]}))).toEqual([
      'a',
      'b',
      'd',
    ])
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

describe('category names', () => {
  it('maps the tagcomplete numbers both ways', () => {
    expect(CATEGORIES).toEqual({general: 0, artist: 1, copyright: 3, character: 4, meta: 5})
    expect(categoryName(4)).toBe('character')
    expect(categoryName(0)).toBe('general')
    expect(categoryName(-1)).toBe('')
    expect(categoryName(2)).toBe('')
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
      {name: 'a, b', category: -1, count: 0, aliases: []},
      {name: '# not a comment', category: -1, count: 0, aliases: []},
      {name: '猫耳 (cat)', category: 4, count: 12, aliases: ['/ne', 'nekomimi']},
      {name: '^_^', category: 0, count: 5, aliases: []},
    ]
    expect(parseStoredReference(serializeReference(info, tags))).toEqual({info, tags})
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
