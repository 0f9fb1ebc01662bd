/**
 * The autocomplete index over reference vocabularies (src/core/tag-index.ts) and the Suggester that puts the
 * dataset's own tags first (src/core/vocabulary.ts). Built from real tagcomplete data: the 3,000-row excerpt in
 * test/fixtures/vocab, and the full 140,782-row danbooru.csv from ../shared/data when it is present.
 */
import * as fs from 'node:fs'
import {join} from 'node:path'
import {foldTag} from '../../src/core/caption.js'
import {parseTagcompleteCsv, type ReferenceTag} from '../../src/core/reference.js'
import {type IndexMatch, TagIndex, findKey, indexSections, joinIndexSections} from '../../src/core/tag-index.js'
import {Suggester, type Suggestion, suggestTags} from '../../src/core/vocabulary.js'
import {hasShared, itIf, ROOT, SHARED_DATA, SHARED_MISSING} from '../helpers.js'

const EXCERPT = join(ROOT, 'test', 'fixtures', 'vocab', 'danbooru-excerpt.csv')
const FULL = join(SHARED_DATA, 'vocab', 'danbooru.csv')

/** Why the tests on the full danbooru.csv cannot run here (undefined when they can). */
const FULL_MISSING = !hasShared ? SHARED_MISSING : fs.existsSync(FULL) ? undefined : `needs ${FULL}, missing`

async function loadIndex(path: string): Promise<{tags: ReferenceTag[]; index: TagIndex}> {
  const tags = await parseTagcompleteCsv(fs.readFileSync(path, 'utf8'), path)
  const index = TagIndex.build(tags, `test:${path}`)
  await index.prepareFuzzy()
  return {tags, index}
}

/** Search results as readable rows: `name match [alias]`. */
function rows(index: TagIndex, matches: IndexMatch[]): string[] {
  return matches.map((m) => `${index.name(m.index)} ${m.match}${m.alias ? ` ${m.alias}` : ''}`)
}

function names(index: TagIndex, matches: IndexMatch[]): string[] {
  return matches.map((m) => index.name(m.index))
}

/** True when `values` never increases. */
function nonIncreasing(values: number[]): boolean {
  return values.every((v, i) => i === 0 || values[i - 1] >= v)
}

/** Queries used to compare two indexes (after a serialize → parse round trip). */
const PROBES = [
  '',
  'l',
  'long',
  'long h',
  'longhair',
  '/lh',
  'hair',
  'sleeves',
  'thighhihgs',
  'smiel',
  'blue ey',
  'eyes',
  '1',
  '^',
  'zzz',
  'qqqqqq',
]

const datasets: [string, string][] = [
  ['the excerpt', EXCERPT],
  ['the full danbooru.csv', FULL],
]

describe.each(datasets)('TagIndex from %s', (_label, path) => {
  const isFull = path === FULL
  // On the full list: skipped (and reported so) when it is not there.
  const it = (name: string, fn: jest.ProvidesCallback, timeout?: number) =>
    itIf(isFull ? FULL_MISSING : undefined, name, fn, timeout)
  let tags: ReferenceTag[]
  let index: TagIndex

  beforeAll(async () => {
    if (isFull && FULL_MISSING) return
    ;({tags, index} = await loadIndex(path))
  }, 120_000)

  it('holds every tag once, with its category and post count', () => {
    expect(index.size).toBe(new Set(tags.map((t) => foldTag(t.name))).size)
    expect(index.size).toBe(isFull ? 140782 : 3000)
    const at = findKey(index, 'long hair')
    expect(at).toBeGreaterThanOrEqual(0)
    expect(index.name(at)).toBe('long_hair')
    expect(index.counts[at]).toBe(4350743)
    expect(index.categories[at]).toBe(0)
    const girl = findKey(index, '1girl')
    expect([index.name(girl), index.categories[girl], index.counts[girl]]).toEqual(['1girl', 0, 6008644])
    // Keys are folded and sorted; names come back as written in the reference.
    expect(index.keys.every((k, i) => i === 0 || index.keys[i - 1] < k)).toBe(true)
    for (const t of tags.slice(0, 500)) expect(index.name(findKey(index, foldTag(t.name)))).toBe(t.name)
  })

  it('findKey finds exact folded keys only', () => {
    expect(findKey(index, 'long hair')).toBeGreaterThanOrEqual(0)
    expect(findKey(index, 'long ha')).toBe(-1)
    expect(findKey(index, 'long_hair')).toBe(-1) // not folded
    expect(findKey(index, 'no such tag at all')).toBe(-1)
    expect(findKey(index, '')).toBe(-1)
    expect(index.name(findKey(index, 'zzz'))).toBe('zzz')
    expect(index.name(findKey(index, '^ ^'))).toBe('^_^')
  })

  it('serialize → parse gives an index with identical search results', async () => {
    const copy = TagIndex.parse(index.serialize())
    expect(copy).toBeDefined()
    await copy!.prepareFuzzy()
    expect(copy!.size).toBe(index.size)
    expect(copy!.sourceKey).toBe(index.sourceKey)
    expect(copy!.keys).toEqual(index.keys)
    expect(Array.from(copy!.counts)).toEqual(Array.from(index.counts))
    expect(Array.from(copy!.categories)).toEqual(Array.from(index.categories))
    for (const q of PROBES) {
      const a = index.search(q, 25)
      const b = copy!.search(q, 25)
      expect([q, b, names(copy!, b)]).toEqual([q, a, names(index, a)])
    }
    for (let i = 0; i < index.size; i += 97) expect(copy!.name(i)).toBe(index.name(i))
  })

  it('an alias is offered as written: case, spaces and `_` kept, across serialize → parse', () => {
    const built = TagIndex.build(
      [{name: 'long_hair', category: 0, count: 9, aliases: ['LongHair_X', 'long hair y', 'lh_z', 'pokémon_hair']}],
      'k',
    )
    const copy = TagIndex.parse(built.serialize())!
    for (const [query, alias] of [
      ['longhair x', 'LongHair_X'],
      ['long hair y', 'long hair y'],
      ['lh z', 'lh_z'],
      ['pokémon', 'pokémon_hair'],
    ])
      for (const ix of [built, copy])
        expect([query, ix.search(query, 5)]).toEqual([query, [{index: 0, match: 'alias', alias}]])
  })

  it('prefix matches come by post count: `long` → long_hair first', () => {
    const found = index.search('long', 10)
    expect(found).toHaveLength(10)
    expect(rows(index, found).slice(0, 2)).toEqual(['long_hair prefix', 'long_sleeves prefix'])
    expect(found.every((m) => m.match === 'prefix' && foldTag(index.name(m.index)).startsWith('long'))).toBe(true)
    expect(nonIncreasing(found.map((m) => index.counts[m.index]))).toBe(true)
  })

  it('an alias typed in full comes first: `longhair` and `/lh` → long_hair', () => {
    expect(rows(index, index.search('longhair', 5))[0]).toBe('long_hair alias longhair')
    expect(rows(index, index.search('/lh', 5))[0]).toBe('long_hair alias /lh')
    expect(rows(index, index.search('/b', 5))).toContain('breasts alias /b')
  })

  it('space and underscore forms match each other: `long h` finds long_hair', () => {
    const found = index.search('long h', 10)
    expect(rows(index, found)[0]).toBe('long_hair prefix')
    expect(names(index, found)).toContain('very_long_hair')
    expect(rows(index, index.search('blue ey', 3))[0]).toBe('blue_eyes prefix')
  })

  it('word-start matches follow the prefix matches: `sleeves` → long_sleeves as a word match', () => {
    const found = index.search('sleeves', 20)
    const firstWord = found.findIndex((m) => m.match === 'word')
    const lastPrefix = found.map((m) => m.match).lastIndexOf('prefix')
    expect(firstWord).toBeGreaterThan(lastPrefix)
    expect(lastPrefix).toBeGreaterThanOrEqual(0)
    expect(rows(index, found)).toContain('long_sleeves word')
    const words = found.filter((m) => m.match === 'word')
    expect(nonIncreasing(words.map((m) => index.counts[m.index]))).toBe(true)
    expect(words.every((m) => / sleeves/u.test(foldTag(index.name(m.index))))).toBe(true)
  })

  it('word-start: `hair` finds long_hair as a word match after every prefix match', () => {
    const found = index.search('hair', 300)
    const at = found.findIndex((m) => index.name(m.index) === 'long_hair')
    expect(at).toBeGreaterThan(0)
    expect(found[at].match).toBe('word')
    expect(found.slice(at).some((m) => m.match === 'prefix')).toBe(false)
    expect(found[0].match).toBe('prefix')
  })

  it('fuzzy matches catch typos: `thighhihgs` → thighhighs, `smiel` → smile', () => {
    expect(rows(index, index.search('thighhihgs', 5))[0]).toBe('thighhighs fuzzy')
    expect(rows(index, index.search('smiel', 5))[0]).toBe('smile fuzzy')
    expect(rows(index, index.search('ponytial', 5))[0]).toBe('ponytail fuzzy')
  })

  it('an empty query lists the most used tags', () => {
    const found = index.search('', 5)
    expect(names(index, found)).toEqual(['1girl', 'highres', 'solo', 'long_hair', 'breasts'])
    expect(nonIncreasing(index.search('', 50).map((m) => index.counts[m.index]))).toBe(true)
  })

  it('respects the limit and the skip filter, and finds nothing for nonsense', () => {
    expect(index.search('s', 7)).toHaveLength(7)
    const skipped = findKey(index, 'long hair')
    const found = index.search('long', 5, (i) => i === skipped)
    expect(names(index, found)).not.toContain('long_hair')
    expect(names(index, found)[0]).toBe('long_sleeves')
    expect(index.search('longhair', 5, (i) => i === skipped).map((m) => m.index)).not.toContain(skipped)
    expect(index.search('qqqqqqxz', 10)).toEqual([])
  })

  describe('Suggester', () => {
    it('puts a dataset tag above a more popular reference tag', () => {
      const s = new Suggester(['long skirt'], new Map([['long skirt', 1]]), index).suggest('long', new Set(), 5)
      expect(s.map((x) => x.tag)).toEqual(
        ['long skirt', 'long_hair', 'long_sleeves', 'long_fingernails', 'long_dress'].slice(0, s.length),
      )
      expect(s[0]).toMatchObject({tag: 'long skirt', count: 1, match: 'prefix', posts: 35699, category: 0})
      expect(s[1]).toMatchObject({tag: 'long_hair', count: 0, match: 'prefix', posts: 4350743, category: 0})
      expect(s[0].posts!).toBeLessThan(s[1].posts!)
    })

    it('a dataset tag hides the same reference tag in the other form (`long hair` vs long_hair)', () => {
      const s = new Suggester(
        ['long hair', 'smile'],
        new Map([
          ['long hair', 3],
          ['smile', 1],
        ]),
        index,
      ).suggest('long', new Set(), 10)
      expect(s[0]).toMatchObject({tag: 'long hair', count: 3, posts: 4350743})
      expect(s.filter((x) => foldTag(x.tag) === 'long hair')).toHaveLength(1)
      const all = s.map((x) => foldTag(x.tag))
      expect(new Set(all).size).toBe(all.length)
    })

    it('never suggests the current tags (excluded), from the dataset or the reference', () => {
      const suggester = new Suggester(
        ['long hair', 'long skirt'],
        new Map([
          ['long hair', 3],
          ['long skirt', 1],
        ]),
        index,
      )
      const s = suggester.suggest('long', new Set(['long hair']), 10)
      expect(s.map((x) => foldTag(x.tag))).not.toContain('long hair')
      expect(s[0].tag).toBe('long skirt')
      // Reference-only tags excluded in either form.
      const r = new Suggester([], new Map(), index)
      expect(r.suggest('long', new Set(['long_hair']), 10).map((x) => x.tag)).not.toContain('long_hair')
      expect(r.suggest('long', new Set(['long hair']), 10).map((x) => x.tag)).not.toContain('long_hair')
      expect(r.suggest('longhair', new Set(['long_hair']), 10).map((x) => x.tag)).not.toContain('long_hair')
    })

    it("an image that has `long_hair` is not offered the dataset's `long hair` (the forms match each other)", () => {
      const s = new Suggester(['long hair'], new Map([['long hair', 3]]), index).suggest(
        'long',
        new Set(['long_hair']),
        10,
      )
      expect(s.map((x) => foldTag(x.tag))).not.toContain('long hair')
    })

    it('ties among dataset tags go by dataset count, then reference post count', () => {
      // Equal dataset counts: long_sleeves (1.5M posts) before long_skirt (36k), though "skirt" sorts first.
      const tied = new Suggester(
        ['long skirt', 'long sleeves'],
        new Map([
          ['long skirt', 2],
          ['long sleeves', 2],
        ]),
        index,
      )
      expect(
        tied
          .suggest('long', new Set(), 10)
          .slice(0, 3)
          .map((x) => x.tag),
      ).toEqual(['long sleeves', 'long skirt', 'long_hair'])
      // A higher dataset count wins over post count.
      const counted = new Suggester(
        ['long skirt', 'long sleeves'],
        new Map([
          ['long skirt', 3],
          ['long sleeves', 2],
        ]),
        index,
      )
      expect(
        counted
          .suggest('long', new Set(), 10)
          .slice(0, 2)
          .map((x) => x.tag),
      ).toEqual(['long skirt', 'long sleeves'])
    })

    it('the tie order holds when the limit cuts the list', () => {
      const tied = new Suggester(
        ['long skirt', 'long sleeves'],
        new Map([
          ['long skirt', 2],
          ['long sleeves', 2],
        ]),
        index,
      )
      expect(tied.suggest('long', new Set(), 1).map((x) => x.tag)).toEqual(['long sleeves'])
    })

    it('dataset prefix, word and substring matches come before any reference tag', () => {
      const vocabulary = ['very long hair', 'belong', 'longcat']
      const s = new Suggester(
        vocabulary,
        new Map([
          ['very long hair', 1],
          ['belong', 5],
          ['longcat', 1],
        ]),
        index,
      ).suggest('long', new Set(), 8)
      expect(s.slice(0, 3).map((x) => [x.tag, x.match])).toEqual([
        ['longcat', 'prefix'],
        ['very long hair', 'word'],
        ['belong', 'substring'],
      ])
      expect(s.slice(3).every((x) => x.count === 0 && x.posts !== undefined)).toBe(true)
    })

    it('suggests the canonical tag for an alias (`longhair`, `/lh`) and matches any form of the input', () => {
      const s = new Suggester([], new Map(), index)
      expect(s.suggest('longhair', new Set(), 5)[0]).toMatchObject({
        tag: 'long_hair',
        match: 'alias',
        alias: 'longhair',
        posts: 4350743,
      })
      expect(s.suggest('/lh', new Set(), 5)[0]).toMatchObject({tag: 'long_hair', match: 'alias', alias: '/lh'})
      for (const input of ['long hair', 'Long_Hair', 'LONG HAIR', '  long   hair '])
        expect([input, s.suggest(input, new Set(), 5)[0]?.tag]).toEqual([input, 'long_hair'])
      expect(s.suggest('smiel', new Set(), 5)[0]).toMatchObject({tag: 'smile', match: 'fuzzy'})
    })

    // Needs no reference list: runs whatever the data (`test` is the global `it`, not the one above).
    test('without an index it is the dataset vocabulary alone', () => {
      const vocabulary = ['long hair', 'smile', 'long skirt']
      const counts = new Map([
        ['long hair', 2],
        ['long skirt', 5],
      ])
      const plain: Suggestion[] = new Suggester(vocabulary, counts).suggest('long', new Set(), 10)
      expect(plain).toEqual(suggestTags(vocabulary, counts, 'long', new Set(), 10))
      expect(plain.map((x) => x.tag)).toEqual(['long skirt', 'long hair'])
    })
  })
})

describe('TagIndex.parse of what is not an index', () => {
  let serialized: Uint8Array
  beforeAll(async () => {
    const {index} = await loadIndex(EXCERPT)
    serialized = index.serialize()
  })
  /** The serialised index taken apart, and put together again with one section or the header changed. */
  const parts = () => indexSections(serialized)!
  const withSection = (name: number, value: Uint8Array) => {
    const {header, sections} = parts()
    return joinIndexSections(
      header,
      sections.map((s, k) => (k === name ? value : s)),
    )
  }
  const text = (t: string) => new Uint8Array(Buffer.from(t))
  const KEYS = 0
  const EXCEPTIONS = 1
  const SCHEMES = 3
  const ALIAS_EXCEPTIONS = 6
  const ALIAS_TARGETS = 7

  it('gives undefined for garbage', () => {
    const newline = serialized.indexOf(10)
    for (const bytes of [
      text(''),
      text('garbage'),
      text('{"format":"lora-tag-index 2"}'),
      text('{"format":"lora-tag-index 5"}   \n'),
      text('a\0b\0c'),
      text('\0'.repeat(9)),
      new Uint8Array([...text('not json'.padEnd(newline, ' ')), ...serialized.subarray(newline)]),
    ]) {
      const shown = Buffer.from(bytes.subarray(0, 30)).toString()
      expect([shown, TagIndex.parse(bytes)]).toEqual([shown, undefined])
    }
  })

  it('gives undefined for another format version or byte order, or a section that does not match its header', () => {
    const {header, sections} = parts()
    expect(TagIndex.parse(joinIndexSections(header, sections))).toBeInstanceOf(TagIndex)
    expect(TagIndex.parse(joinIndexSections({...header, format: 'lora-tag-index 4'}, sections))).toBeUndefined()
    expect(
      TagIndex.parse(joinIndexSections({...header, endian: header.endian === 'LE' ? 'BE' : 'LE'}, sections)),
    ).toBeUndefined()
    expect(TagIndex.parse(joinIndexSections({...header, size: header.size + 1}, sections))).toBeUndefined()
    expect(TagIndex.parse(joinIndexSections({...header, size: -1}, sections))).toBeUndefined()
    const keys = Buffer.from(sections[KEYS]).toString()
    expect(TagIndex.parse(withSection(KEYS, text(keys.split('\n').slice(1).join('\n'))))).toBeUndefined()
    expect(TagIndex.parse(joinIndexSections(header, sections.slice(0, 9)))).toBeUndefined()
    // Section lengths that do not add up to the file's length.
    const json = Buffer.from(serialized.subarray(0, serialized.indexOf(10))).toString()
    const longer = json.replace(/"lengths":\[(\d+)/u, (_, n: string) => `"lengths":[${Number(n) + 8}`)
    expect(longer).not.toBe(json)
    const bytes = serialized.slice()
    bytes.set(text(longer.padEnd(json.length, ' ')).subarray(0, json.length), 0)
    expect(TagIndex.parse(bytes)).toBeUndefined()
  })

  it('gives undefined for indexes out of range: alias targets, exception lines (of tags and of aliases)', () => {
    const {header} = parts()
    expect(header.aliases).toBeGreaterThan(0)
    const targets = (value: number) => new Uint8Array(new Int32Array(header.aliases).fill(value).buffer)
    // In range: still an index (the check is not what rejects everything).
    expect(TagIndex.parse(withSection(ALIAS_TARGETS, targets(0)))).toBeInstanceOf(TagIndex)
    for (const bad of [header.size, 999_999, -1])
      expect([bad, TagIndex.parse(withSection(ALIAS_TARGETS, targets(bad)))]).toEqual([bad, undefined])
    for (const line of [`${header.size}\tx`, '-1\tx', 'x\ty', '1.5\tx', 'no tab'])
      expect([line, TagIndex.parse(withSection(EXCEPTIONS, text(line)))]).toEqual([line, undefined])
    expect(TagIndex.parse(withSection(EXCEPTIONS, text('0\tok')))).toBeInstanceOf(TagIndex)
    // A category scheme this lora does not know (a newer lora's) reads `numbers`.
    expect(TagIndex.parse(withSection(SCHEMES, new Uint8Array(header.size).fill(9)))?.scheme(0)).toBe('numbers')
    expect(TagIndex.parse(withSection(SCHEMES, new Uint8Array(header.size).fill(1)))?.scheme(0)).toBe('e621')
    // Alias exceptions name aliases that exist.
    for (const line of [`${header.aliases}\tx`, '-1\tx', 'no tab'])
      expect([line, TagIndex.parse(withSection(ALIAS_EXCEPTIONS, text(line)))]).toEqual([line, undefined])
    expect(TagIndex.parse(withSection(ALIAS_EXCEPTIONS, text('0\tok')))).toBeInstanceOf(TagIndex)
  })

  it('word suffixes out of range (a damaged cache) are read as empty: no tag of theirs is offered, nothing throws', () => {
    const {header} = parts()
    const WORD_OFFSETS = 8
    const WORD_TARGETS = 9
    const int32 = (value: number) => new Uint8Array(new Int32Array(header.words).fill(value).buffer)
    const intact = TagIndex.parse(serialized)!
    expect(intact.search('sleeves', 50).some((m) => m.match === 'word')).toBe(true)
    for (const [section, value] of [
      [WORD_TARGETS, header.size],
      [WORD_TARGETS, -1],
      [WORD_OFFSETS, 1_000_000],
      [WORD_OFFSETS, -5],
    ]) {
      const damaged = TagIndex.parse(withSection(section, int32(value)))!
      for (const query of ['sleeves', 'hair', 'a', 'x'])
        for (const m of damaged.search(query, 50)) {
          expect(m.index).toBeGreaterThanOrEqual(0)
          expect(m.index).toBeLessThan(header.size)
          expect(foldTag(damaged.name(m.index)).length).toBeLessThan(200)
        }
      if (section === WORD_TARGETS) expect(damaged.search('sleeves', 50).filter((m) => m.match === 'word')).toEqual([])
    }
  })

  it("the fuzzy tier's pool cutoff comes from the header when it is there, else from the counts", async () => {
    const {header, sections} = parts()
    const typo = async (h: typeof header) => {
      const ix = TagIndex.parse(joinIndexSections(h, sections))!
      await ix.prepareFuzzy()
      return ix.search('smiel', 5).filter((m) => m.match === 'fuzzy').length
    }
    expect(header.fuzzyCutoff).toBe(0) // the excerpt's 3,000 tags are all in the pool
    expect(await typo(header)).toBeGreaterThan(0)
    expect(await typo({...header, fuzzyCutoff: undefined})).toBeGreaterThan(0)
    // A cutoff above every post count leaves the pool empty: the header's value is the one used.
    expect(await typo({...header, fuzzyCutoff: 1e15})).toBe(0)
  })

  it('gives undefined (never throws) for a cache file cut off anywhere', () => {
    const outcomes = new Map<string, number[]>()
    // Every cut in the last 200 bytes (inside the final binary section), and a spread elsewhere.
    const cuts = [
      ...Array.from({length: 200}, (_, k) => serialized.length - 1 - k),
      ...Array.from({length: 100}, (_, k) => Math.floor((serialized.length * k) / 100)),
    ]
    for (const cut of cuts) {
      let outcome: string
      try {
        const parsed = TagIndex.parse(serialized.subarray(0, cut))
        outcome = parsed === undefined ? 'undefined' : 'index'
      } catch (error) {
        outcome = `threw ${(error as Error).name}: ${(error as Error).message}`
      }
      outcomes.set(outcome, [...(outcomes.get(outcome) ?? []), cut])
    }
    expect([...outcomes.keys()]).toEqual(['undefined'])
  })
})
