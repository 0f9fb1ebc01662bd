/** core/co-occurrence.ts: the conditional frequency P(tag | current tags) over the other captions. */
import {CoOccurrenceIndex, coOccurring} from '../../src/core/co-occurrence.js'

const CAPTIONS = [
  ['ohwx', 'cat', 'grass', 'sky'],
  ['ohwx', 'cat', 'grass'],
  ['ohwx', 'cat', 'indoors'],
  ['ohwx', 'dog', 'grass', 'sky'],
  ['ohwx', 'dog', 'Sky'],
  ['ohwx', 'tree'],
]

describe('coOccurring', () => {
  it('ranks tags by P(tag | current tag)', () => {
    // Of the 3 captions with cat: grass 2, sky 1, indoors 1.
    expect(coOccurring(CAPTIONS, ['ohwx', 'cat'], {ignore: ['ohwx'], minP: 0})).toEqual([
      {tag: 'grass', p: 2 / 3, together: 2},
      {tag: 'indoors', p: 1 / 3, together: 1},
      {tag: 'sky', p: 1 / 3, together: 1},
    ])
  })

  it('averages over the current tags and compares folded (case, _ and space)', () => {
    // cat: grass 2/3, sky 1/3; dog: grass 1/2, sky 2/2 (Sky counts as sky).
    const found = coOccurring(CAPTIONS, ['cat', 'dog'], {ignore: ['ohwx']})
    expect(found.map((f) => f.tag)).toEqual(['sky', 'grass'])
    expect(found[0].p).toBeCloseTo((1 / 3 + 1) / 2)
    expect(found[1].p).toBeCloseTo((2 / 3 + 1 / 2) / 2)
  })

  it('never suggests a current or ignored tag, and leaves out scores below minP', () => {
    const found = coOccurring(CAPTIONS, ['cat', 'GRASS'], {ignore: ['ohwx']})
    expect(found.map((f) => f.tag)).not.toContain('grass')
    expect(found.map((f) => f.tag)).not.toContain('ohwx')
    expect(found.every((f) => f.p >= 0.3)).toBe(true)
  })

  it('counts a current tag only with enough support, and is empty without one', () => {
    // tree is in one caption: below the default support of 2.
    expect(coOccurring(CAPTIONS, ['tree'], {ignore: ['ohwx']})).toEqual([])
    expect(coOccurring(CAPTIONS, ['tree'], {ignore: ['ohwx'], minSupport: 1, minP: 0})).toEqual([])
    expect(coOccurring(CAPTIONS, ['ohwx'], {ignore: ['ohwx']})).toEqual([])
    expect(coOccurring([], ['cat'])).toEqual([])
  })

  it('keeps at most limit suggestions', () => {
    expect(coOccurring(CAPTIONS, ['cat'], {ignore: ['ohwx'], minP: 0, limit: 1})).toHaveLength(1)
  })
})

describe('CoOccurrenceIndex', () => {
  const index = () =>
    new CoOccurrenceIndex(
      CAPTIONS.map((tags, i) => [`img_${i}`, tags] as const),
      ['ohwx'],
    )

  it('answers as coOccurring, leaving out the image being tagged', () => {
    expect(index().suggest(['cat'], {minP: 0})).toEqual(coOccurring(CAPTIONS, ['cat'], {ignore: ['ohwx'], minP: 0}))
    // Without img_0 (cat, grass, sky): of the 2 other captions with cat, grass 1, indoors 1.
    expect(index().suggest(['cat'], {minP: 0, exclude: 'img_0'})).toEqual([
      {tag: 'grass', p: 1 / 2, together: 1},
      {tag: 'indoors', p: 1 / 2, together: 1},
    ])
  })

  it('set replaces a caption: tags it lost no longer count, tags it gained do, once', () => {
    const i = index()
    i.set('img_2', ['ohwx', 'cat', 'grass'])
    i.set('img_2', ['ohwx', 'cat', 'grass', 'sky'])
    i.set('img_2', ['ohwx', 'cat', 'grass', 'sky'])
    expect(i.suggest(['cat'], {minP: 0})).toEqual([
      {tag: 'grass', p: 1, together: 3},
      {tag: 'sky', p: 2 / 3, together: 2},
    ])
    i.set('img_9', ['ohwx', 'cat', 'moon'])
    expect(i.suggest(['cat'], {minP: 0}).map((f) => f.tag)).toEqual(['grass', 'sky', 'moon'])
  })
})
