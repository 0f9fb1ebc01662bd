/**
 * Tag style (src/core/tag-style.ts): config `tagStyle: keep | spaces | underscores` and `lowercase` decide how a
 * tag is written. Kaomoji such as `^_^` and tags of 3 characters or fewer keep their underscores.
 */
import {KAOMOJI, type StyleOptions, keepsUnderscores, styleTag, styleTags} from '../../src/core/tag-style.js'

const keep: StyleOptions = {tagStyle: 'keep', lowercase: false}
const spaces: StyleOptions = {tagStyle: 'spaces', lowercase: false}
const underscores: StyleOptions = {tagStyle: 'underscores', lowercase: false}
const lower = (o: StyleOptions): StyleOptions => ({...o, lowercase: true})

describe('styleTag', () => {
  it('keep: writes tags as typed (only white space normalised)', () => {
    expect(styleTag('long_hair', keep)).toBe('long_hair')
    expect(styleTag('long hair', keep)).toBe('long hair')
    expect(styleTag('  Long_Hair  ', keep)).toBe('Long_Hair')
    expect(styleTag('red \t  hair', keep)).toBe('red hair')
    expect(styleTag('(masterpiece:1.2)', keep)).toBe('(masterpiece:1.2)')
  })

  it('spaces: underscores become spaces', () => {
    expect(styleTag('long_hair', spaces)).toBe('long hair')
    expect(styleTag('hair_between_eyes', spaces)).toBe('hair between eyes')
    expect(styleTag('long hair', spaces)).toBe('long hair')
    expect(styleTag('Blue_Eyes', spaces)).toBe('Blue Eyes')
    expect(styleTag('score_9', spaces)).toBe('score 9')
    expect(styleTag('low-tied_long_hair', spaces)).toBe('low-tied long hair')
  })

  it('spaces: no leading, trailing or doubled spaces come out of stray underscores', () => {
    expect(styleTag('blue_eyes_', spaces)).toBe('blue eyes')
    expect(styleTag('a__b', spaces)).toBe('a b')
    expect(styleTag('__tag__', spaces)).toBe('tag')
  })

  it('spaces: kaomoji keep their underscores', () => {
    for (const face of ['^_^', '>_<', '(o)_(o)', '<o>_<o>', '||_||', '<|>_<|>'])
      expect([face, styleTag(face, spaces)]).toEqual([face, face])
    expect(KAOMOJI.has('^_^')).toBe(true)
    expect(KAOMOJI.has('>_<')).toBe(true)
  })

  it('spaces: tags of 3 characters or fewer keep their underscores', () => {
    for (const short of ['a_b', '1_2', 'x_', '_', 'o_o', 'O_O'])
      expect([short, styleTag(short, spaces)]).toEqual([short, short])
    // 4 characters: styled.
    expect(styleTag('ab_c', spaces)).toBe('ab c')
    expect(keepsUnderscores('a_b')).toBe(true)
    expect(keepsUnderscores('ab_c')).toBe(false)
    expect(keepsUnderscores('(o)_(o)')).toBe(true)
  })

  it('underscores: spaces become underscores', () => {
    expect(styleTag('long hair', underscores)).toBe('long_hair')
    expect(styleTag('  hair   between eyes ', underscores)).toBe('hair_between_eyes')
    expect(styleTag('long_hair', underscores)).toBe('long_hair')
    expect(styleTag('^_^', underscores)).toBe('^_^')
    expect(styleTag('a b', underscores)).toBe('a_b')
  })

  it('lowercase applies on top of every style', () => {
    expect(styleTag('Long_Hair', lower(keep))).toBe('long_hair')
    expect(styleTag('Long_Hair', lower(spaces))).toBe('long hair')
    expect(styleTag('Long Hair', lower(underscores))).toBe('long_hair')
    expect(styleTag('Rating:Safe', lower(keep))).toBe('rating:safe')
    expect(styleTag('^_^', lower(spaces))).toBe('^_^')
    expect(styleTag('Long_Hair', keep)).toBe('Long_Hair')
  })

  it('gives "" for a blank tag', () => {
    expect(styleTag('   ', spaces)).toBe('')
    expect(styleTag('', keep)).toBe('')
  })
})

describe('styleTags', () => {
  it('styles every tag, in order, dropping repeats the styling creates', () => {
    expect(styleTags(['long_hair', 'smile', 'long hair', '^_^', 'blue_eyes'], spaces)).toEqual([
      'long hair',
      'smile',
      '^_^',
      'blue eyes',
    ])
    expect(styleTags(['long hair', 'long_hair'], underscores)).toEqual(['long_hair'])
    expect(styleTags(['Long Hair', 'long hair', 'LONG_HAIR'], lower(spaces))).toEqual(['long hair'])
  })

  it('keep leaves distinct forms alone but still drops exact repeats and blanks', () => {
    expect(styleTags(['long_hair', 'long hair', 'Long Hair', 'long_hair', '', '  '], keep)).toEqual([
      'long_hair',
      'long hair',
      'Long Hair',
    ])
  })

  it('case differences stay distinct without lowercase', () => {
    expect(styleTags(['Long_Hair', 'long hair'], spaces)).toEqual(['Long Hair', 'long hair'])
  })

  it('kaomoji and short tags are kept next to their styled neighbours', () => {
    expect(styleTags(['>_<', 'o_o', 'one_piece', '^_^', 'x_x'], spaces)).toEqual([
      '>_<',
      'o_o',
      'one piece',
      '^_^',
      'x_x',
    ])
  })
})
