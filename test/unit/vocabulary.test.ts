import {countTags, foldTag, parseVocabulary, serializeVocabulary, suggestTags} from '../../src/core/vocabulary.js'

describe('tags.txt', () => {
  it('parses one tag per line, ignoring blank lines and # comments', () => {
    const text = '# the vocabulary\nb\n\n  a  \r\n   # an indented comment\nlong   hair\n\t\nb\n'
    expect(parseVocabulary(text)).toEqual(['b', 'a', 'long hair'])
  })

  it('drops a BOM and parses an empty file as no tags', () => {
    expect(parseVocabulary('\uFEFFa\nb\n')).toEqual(['a', 'b'])
    expect(parseVocabulary('')).toEqual([])
    expect(parseVocabulary('\n\n# only comments\n')).toEqual([])
  })

  it('writes a tag starting with # escaped (as gitignore does) so that it is read back, not taken for a comment', () => {
    const tags = ['#compass', '\\#odd', 'plain', '\\(^o^)/']
    const text = serializeVocabulary(tags)
    expect(text).toBe('\\#compass\n\\\\#odd\n\\(^o^)/\nplain\n')
    expect(parseVocabulary(text).sort()).toEqual([...tags].sort())
    expect(parseVocabulary('# a comment\n\\#tag\n')).toEqual(['#tag'])
  })

  it('keeps tags with inner # and non-ASCII characters', () => {
    expect(parseVocabulary('c# code\ncafé\n猫\n')).toEqual(['c# code', 'café', '猫'])
  })

  it('serialises sorted by code point, one per line, with a trailing newline and no repeats', () => {
    expect(serializeVocabulary(['b', 'a', 'B', 'long hair', 'a', '  spaced   out ', 'é', 'Z'])).toBe(
      'B\nZ\na\nb\nlong hair\nspaced out\né\n',
    )
  })

  it("serialises no tags as ''", () => {
    expect(serializeVocabulary([])).toBe('')
    expect(serializeVocabulary(['', '   '])).toBe('')
  })

  it('accepts any iterable', () => {
    expect(serializeVocabulary(new Set(['y', 'x']))).toBe('x\ny\n')
  })

  it('round-trips: parse(serialize(tags)) is the sorted unique list, and serialising again is stable', () => {
    const tags = ['smile', '1girl', 'long hair', '(masterpiece:1.2)', 'smile', 'über', 'Blue eyes']
    const text = serializeVocabulary(tags)
    const parsed = parseVocabulary(text)
    expect(parsed).toEqual(['(masterpiece:1.2)', '1girl', 'Blue eyes', 'long hair', 'smile', 'über'])
    expect(serializeVocabulary(parsed)).toBe(text)
  })

  it('a hand-edited file with comments and blank lines serialises without them', () => {
    const parsed = parseVocabulary('# mine\nzebra\n\napple\n')
    expect(serializeVocabulary(parsed)).toBe('apple\nzebra\n')
  })
})

describe('countTags', () => {
  it('counts how many captions use each tag', () => {
    const counts = countTags([['a', 'b'], ['a'], [], ['c', 'a']])
    expect(counts).toEqual(
      new Map([
        ['a', 3],
        ['b', 1],
        ['c', 1],
      ]),
    )
  })

  it('is empty for no captions', () => {
    expect(countTags([]).size).toBe(0)
  })

  it('accepts any iterable of captions', () => {
    function* captions() {
      yield ['x']
      yield ['x', 'y']
    }
    expect(countTags(captions()).get('x')).toBe(2)
    expect(countTags(captions()).get('y')).toBe(1)
  })
})

describe('foldTag', () => {
  it('lowercases and reads _ as a space', () => {
    expect(foldTag('Long_Hair')).toBe('long hair')
    expect(foldTag('  long__hair ')).toBe('long hair')
  })
})

describe('suggestTags', () => {
  const vocabulary = [
    'hair',
    'long_hair',
    'hairband',
    'chair',
    'hair ornament',
    'blue hair',
    'mohair',
    'short-hair',
    'smile',
    'red eyes',
  ]
  const counts = new Map<string, number>([
    ['hair', 5],
    ['hairband', 5],
    ['hair ornament', 9],
    ['long_hair', 1],
    ['blue hair', 7],
    ['chair', 3],
    ['mohair', 3],
    ['smile', 20],
    ['red eyes', 2],
  ])

  it('ranks prefix matches, then word starts, then substrings; each by count, then name', () => {
    const out = suggestTags(vocabulary, counts, 'hair')
    expect(out.map((s) => [s.tag, s.match, s.count])).toEqual([
      ['hair ornament', 'prefix', 9],
      ['hair', 'prefix', 5],
      ['hairband', 'prefix', 5],
      ['blue hair', 'word', 7],
      ['long_hair', 'word', 1],
      ['short-hair', 'word', 0],
      ['chair', 'substring', 3],
      ['mohair', 'substring', 3],
    ])
  })

  it('ranks a rarely used prefix match above a popular word-start match', () => {
    const out = suggestTags(['red hair', 'hairy'], new Map([['red hair', 100]]), 'hair')
    expect(out.map((s) => s.tag)).toEqual(['hairy', 'red hair'])
  })

  it('ranks a rarely used word-start match above a popular substring match', () => {
    const out = suggestTags(['chair', 'long hair'], new Map([['chair', 100]]), 'hair')
    expect(out.map((s) => s.tag)).toEqual(['long hair', 'chair'])
  })

  it('treats _ and space alike, both ways', () => {
    expect(suggestTags(vocabulary, counts, 'long hair')).toEqual([{tag: 'long_hair', count: 1, match: 'prefix'}])
    expect(suggestTags(vocabulary, counts, 'long_h').map((s) => s.tag)).toEqual(['long_hair'])
    expect(suggestTags(['blue hair'], counts, 'blue_hair').map((s) => s.tag)).toEqual(['blue hair'])
  })

  it('ignores case', () => {
    expect(suggestTags(vocabulary, counts, 'LONG Hair').map((s) => s.tag)).toEqual(['long_hair'])
    expect(suggestTags(['Red Eyes'], new Map(), 'red e')).toEqual([{tag: 'Red Eyes', count: 0, match: 'prefix'}])
  })

  it('lists the most used tags for empty input', () => {
    const out = suggestTags(vocabulary, counts, '')
    expect(out.every((s) => s.match === 'prefix')).toBe(true)
    expect(out.map((s) => s.tag)).toEqual([
      'smile',
      'hair ornament',
      'blue hair',
      'hair',
      'hairband',
      'chair',
      'mohair',
      'red eyes',
      'long_hair',
      'short-hair',
    ])
  })

  it('leaves out excluded tags (the image already has them)', () => {
    const out = suggestTags(vocabulary, counts, 'hair', new Set(['hair ornament', 'chair']))
    expect(out.map((s) => s.tag)).toEqual(['hair', 'hairband', 'blue hair', 'long_hair', 'short-hair', 'mohair'])
  })

  it('returns at most `limit` suggestions, the best ones', () => {
    expect(suggestTags(vocabulary, counts, 'hair', new Set(), 2).map((s) => s.tag)).toEqual(['hair ornament', 'hair'])
    expect(suggestTags(vocabulary, counts, '', new Set(), 1).map((s) => s.tag)).toEqual(['smile'])
    expect(suggestTags(vocabulary, counts, '', new Set(), 0)).toEqual([])
  })

  it('defaults to 50 suggestions', () => {
    const many = Array.from({length: 80}, (_, i) => `tag${String(i).padStart(2, '0')}`)
    expect(suggestTags(many, new Map(), 'tag')).toHaveLength(50)
  })

  it('suggests nothing when nothing matches', () => {
    expect(suggestTags(vocabulary, counts, 'zebra')).toEqual([])
    expect(suggestTags([], counts, 'hair')).toEqual([])
  })

  it('counts tags missing from the counts as 0', () => {
    expect(suggestTags(['unused'], new Map(), 'un')).toEqual([{tag: 'unused', count: 0, match: 'prefix'}])
  })
})
