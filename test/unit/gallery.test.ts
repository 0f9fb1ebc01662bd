/**
 * The gallery page's pure parts (src/core/gallery.ts): the filter box's syntax (`red hair -hat`), the JSON embedded
 * in the page (nothing in it can close its script element), HTML escaping, relative URLs and tag frequencies.
 * The page itself is tested in a browser: test/e2e/gallery-browser.test.ts.
 */
import {sep} from 'node:path'
import {
  embedJson,
  escapeHtml,
  galleryPage,
  type GalleryData,
  matchesFilter,
  parseFilter,
  relativeUrl,
  tagFrequencies,
} from '../../src/core/gallery.js'

const KNOWN = ['red hair', 'hat', 'red', 'smile', 'long red hair', 'Blue Sky']

describe('parseFilter', () => {
  it('reads known tags, the longest run of words first, and - excludes', () => {
    expect(parseFilter('red hair -hat', KNOWN)).toEqual({include: ['red hair'], exclude: ['hat'], words: []})
    expect(parseFilter('long red hair smile', KNOWN)).toEqual({
      include: ['long red hair', 'smile'],
      exclude: [],
      words: [],
    })
    expect(parseFilter('red', KNOWN)).toEqual({include: ['red'], exclude: [], words: []})
  })

  it('ignores case and extra spaces, and gives the tag as the dataset spells it', () => {
    expect(parseFilter('  blue   SKY ', KNOWN)).toEqual({include: ['Blue Sky'], exclude: [], words: []})
    expect(parseFilter('-BLUE sky', KNOWN)).toEqual({include: [], exclude: ['Blue Sky'], words: []})
  })

  it('commas end a run; unknown words are text to find', () => {
    expect(parseFilter('red, hair', KNOWN)).toEqual({include: ['red'], exclude: [], words: ['hair']})
    expect(parseFilter('img_00 Kite', KNOWN)).toEqual({include: [], exclude: [], words: ['img_00', 'kite']})
    expect(parseFilter('', KNOWN)).toEqual({include: [], exclude: [], words: []})
    expect(parseFilter('-', KNOWN)).toEqual({include: [], exclude: [], words: ['-']})
  })

  it('is self-contained, so that the page can embed its source', () => {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const again = new Function(`return ${parseFilter.toString()}`)() as typeof parseFilter
    expect(again('red hair -hat', KNOWN)).toEqual(parseFilter('red hair -hat', KNOWN))
  })
})

describe('matchesFilter', () => {
  const image = {id: 'img_0007', file: 'img_0007.jpg', tags: ['ohwx', 'red hair', 'Smile']}
  it('needs every included tag, no excluded one, and every word', () => {
    expect(matchesFilter(image, parseFilter('red hair', KNOWN))).toBe(true)
    expect(matchesFilter(image, parseFilter('red hair -hat', KNOWN))).toBe(true)
    expect(matchesFilter(image, parseFilter('red hair hat', KNOWN))).toBe(false)
    expect(matchesFilter(image, parseFilter('-red hair', KNOWN))).toBe(false)
    expect(matchesFilter(image, parseFilter('SMILE', KNOWN))).toBe(true)
    expect(matchesFilter(image, parseFilter('0007', KNOWN))).toBe(true)
    expect(matchesFilter(image, parseFilter('0008', KNOWN))).toBe(false)
    // A tag is a whole tag, not part of one: `red` is not on the image, though `red hair` is.
    expect(matchesFilter(image, parseFilter('red', KNOWN))).toBe(false)
  })

  it('a tag named like an Object.prototype key (constructor, __proto__) is a tag like any other', () => {
    const known = ['constructor', '__proto__', 'red hair']
    const plain = {id: 'img_0001', file: 'img_0001.jpg', tags: ['red hair']}
    const odd = {id: 'img_0002', file: 'img_0002.jpg', tags: ['constructor', '__proto__']}
    expect(parseFilter('-constructor __proto__', known)).toEqual({
      include: ['__proto__'],
      exclude: ['constructor'],
      words: [],
    })
    expect(parseFilter('tostring', known)).toEqual({include: [], exclude: [], words: ['tostring']})
    expect(matchesFilter(plain, parseFilter('-constructor', known))).toBe(true)
    expect(matchesFilter(plain, parseFilter('constructor', known))).toBe(false)
    expect(matchesFilter(plain, parseFilter('__proto__', known))).toBe(false)
    expect(matchesFilter(odd, parseFilter('constructor __proto__', known))).toBe(true)
  })
})

describe('the embedded data and the page', () => {
  const hostile = '</script><script>alert(1)</script><!-- "quoted" & \u2028'
  it('embedJson writes no <, > or & and parses back to the same value', () => {
    const text = embedJson({tag: hostile})
    expect(text).not.toMatch(/[<>&\u2028]/u)
    expect(JSON.parse(text)).toEqual({tag: hostile})
  })

  it('escapeHtml escapes the five characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
  })

  it('the page holds dataset text only escaped: one script element of data, two of code', () => {
    const data: GalleryData = {
      version: 1,
      title: hostile,
      trigger: null,
      generatedAt: '2026-12-01T00:00:00.000Z',
      tags: [{tag: hostile, count: 1}],
      images: [
        {
          id: 'img_0001',
          file: 'img_0001.jpg',
          src: '../output/img_0001.jpg',
          thumb: null,
          width: 1,
          height: 1,
          status: 'tagged',
          reason: null,
          tags: [hostile],
          prompt: {positive: hostile, negative: '', generator: 'automatic1111'},
          problems: [],
        },
      ],
    }
    const page = galleryPage(data)
    expect(page).not.toContain('alert(1)</script>')
    expect(page).not.toContain('<!-- "quoted"')
    expect(page.match(/<script/gu)).toHaveLength(2)
    expect(page).toContain('<title>&lt;/script&gt;&lt;script&gt;alert(1)')
  })
})

describe('relativeUrl and tagFrequencies', () => {
  it('percent-encodes each segment and keeps ..', () => {
    expect(relativeUrl(['..', '..', 'my #1 set?', 'output', 'img_0001.jpg'].join(sep))).toBe(
      '../../my%20%231%20set%3F/output/img_0001.jpg',
    )
  })

  it('counts each tag once per image, most used first, then by name', () => {
    expect(tagFrequencies([{tags: ['b', 'a', 'a']}, {tags: ['a']}, {tags: ['c']}])).toEqual([
      {tag: 'a', count: 2},
      {tag: 'b', count: 1},
      {tag: 'c', count: 1},
    ])
  })
})
