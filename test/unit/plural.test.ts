/**
 * Plurals in user-facing text (src/core/plural.ts): `1 image`, `3 images`, `0 images`, irregular plurals given as the
 * third argument (`2 aliases`), and verbs that agree with a count (`1 image has`, `3 images have`).
 */
import {counted, plural} from '../../src/core/plural.js'

describe('counted', () => {
  it('a count and its noun, plural unless the count is 1 (commit subjects said "in 1 captions")', () => {
    expect([counted(1, 'caption'), counted(0, 'image'), counted(2, 'image'), counted(3, 'image')]).toEqual([
      '1 caption',
      '0 images',
      '2 images',
      '3 images',
    ])
  })

  it('takes an irregular plural as its third argument, used for every count but 1', () => {
    expect([counted(1, 'alias', 'aliases'), counted(0, 'alias', 'aliases'), counted(2, 'alias', 'aliases')]).toEqual([
      '1 alias',
      '0 aliases',
      '2 aliases',
    ])
  })
})

describe('plural', () => {
  it('the word alone, singular for 1 only', () => {
    expect([plural(1, 'image'), plural(0, 'image'), plural(2, 'image')]).toEqual(['image', 'images', 'images'])
  })

  it('picks the verb that agrees with a count', () => {
    expect([plural(1, 'has', 'have'), plural(0, 'has', 'have'), plural(2, 'has', 'have')]).toEqual([
      'has',
      'have',
      'have',
    ])
    expect([
      plural(1, 'is', 'are'),
      plural(3, 'is', 'are'),
      plural(1, 'was', 'were'),
      plural(2, 'was', 'were'),
    ]).toEqual(['is', 'are', 'was', 'were'])
  })
})
