import {
  diffTags,
  findSameTag,
  mergeTags,
  normalizeTag,
  parseCaption,
  serializeCaption,
  splitCaption,
  uniqueCaptionTags,
  withTrigger,
} from '../../src/core/caption.js'

describe('caption files', () => {
  it('parses tags: trims, collapses spaces, drops empty and repeated tags', () => {
    expect(parseCaption(' red  hair ,smile,, smile ,\tblue\teyes \n')).toEqual(['red hair', 'smile', 'blue eyes'])
  })

  it('keeps parentheses, colons, backslashes and non-ASCII as typed', () => {
    expect(parseCaption('(masterpiece:1.2), \\(cat\\), café, 猫')).toEqual([
      '(masterpiece:1.2)',
      '\\(cat\\)',
      'café',
      '猫',
    ])
  })

  it('drops a BOM and reads line breaks as separators', () => {
    expect(parseCaption('\uFEFFa, b\r\nc\rd')).toEqual(['a', 'b', 'c', 'd'])
  })

  it('serialises one line with a trailing newline, and nothing for no tags', () => {
    expect(serializeCaption(['a', 'b c'])).toBe('a, b c\n')
    expect(serializeCaption([])).toBe('')
    expect(serializeCaption(['a', 'b'], ' | ')).toBe('a | b\n')
  })

  it('round-trips', () => {
    const tags = ['1girl', 'long hair', '(smile:0.8)', 'über']
    expect(parseCaption(serializeCaption(tags))).toEqual(tags)
  })

  it('keeps the trigger word first', () => {
    expect(withTrigger(['a', 'ohwx', 'b'], 'ohwx')).toEqual(['ohwx', 'a', 'b'])
    expect(withTrigger(['a'], undefined)).toEqual(['a'])
  })

  it('normalises tags', () => {
    expect(normalizeTag('  a \n b  ')).toBe('a b')
  })

  it('diffs and merges tag lists', () => {
    expect(diffTags(['a', 'b'], ['b', 'c'])).toEqual({added: ['c'], removed: ['a']})
    // Nothing changed on disk: the user's order wins.
    expect(mergeTags(['a', 'b'], ['b', 'a', 'c'], ['a', 'b'])).toEqual(['b', 'a', 'c'])
    // Someone added "x" on disk meanwhile: kept, and the user's edit applied on top.
    expect(mergeTags(['a', 'b'], ['b', 'c'], ['a', 'b', 'x'])).toEqual(['b', 'x', 'c'])
  })

  it('keeps one spelling per tag, case ignored: the first one, in place; the trigger word counted', () => {
    expect(uniqueCaptionTags(['sky', 'cloud', 'SKY', 'Sky', 'tree', 'cloud'])).toEqual(['sky', 'cloud', 'tree'])
    expect(parseCaption('Sky, sky, SKY\n')).toEqual(['Sky'])
    expect(splitCaption('Sky, sky,, SKY\n')).toEqual(['Sky', 'sky', 'SKY'])
    expect(serializeCaption(['a', 'A', 'b'])).toBe('a, b\n')
    expect(withTrigger(['sky', 'OHWX', 'Ohwx'], 'ohwx')).toEqual(['ohwx', 'sky'])
    expect(mergeTags(['a'], ['a', 'B'], ['a', 'b'])).toEqual(['a', 'b'])
    expect(findSameTag(['ohwx', 'Long Hair'], 'long hair')).toBe('Long Hair')
    expect(findSameTag(['ohwx'], 'long hair')).toBeUndefined()
  })
})
