import {extensionOf, imageId, isValidPrefix, naturalSort, padWidthFor, stemOf} from '../../src/core/naming.js'

describe('padWidthFor', () => {
  it('is at least 4', () => {
    expect(padWidthFor(0)).toBe(4)
    expect(padWidthFor(1)).toBe(4)
    expect(padWidthFor(9)).toBe(4)
    expect(padWidthFor(9999)).toBe(4)
  })

  it('grows with the digits of the count past 4', () => {
    expect(padWidthFor(10000)).toBe(5)
    expect(padWidthFor(99999)).toBe(5)
    expect(padWidthFor(100000)).toBe(6)
    expect(padWidthFor(1234567)).toBe(7)
  })

  it('treats a negative count as 0', () => {
    expect(padWidthFor(-5)).toBe(4)
    expect(padWidthFor(-123456)).toBe(4)
  })
})

describe('imageId', () => {
  it('zero-pads the number to the width after the prefix', () => {
    expect(imageId('img_', 42, 4)).toBe('img_0042')
    expect(imageId('img_', 1, 5)).toBe('img_00001')
    expect(imageId('cat-', 7, 4)).toBe('cat-0007')
    expect(imageId('', 3, 4)).toBe('0003')
  })

  it('lets numbers grow wider than the width instead of truncating them', () => {
    expect(imageId('img_', 12345, 4)).toBe('img_12345')
    expect(imageId('img_', 9999, 4)).toBe('img_9999')
  })
})

describe('extensionOf', () => {
  it('lowercases the last extension, without the dot', () => {
    expect(extensionOf('a/B.JPG')).toBe('jpg')
    expect(extensionOf('photo.jpeg')).toBe('jpeg')
    expect(extensionOf('x/y/archive.tar.GZ')).toBe('gz')
    expect(extensionOf('img.WebP')).toBe('webp')
  })

  it("is '' when there is no extension", () => {
    expect(extensionOf('README')).toBe('')
    expect(extensionOf('dir/noext')).toBe('')
    expect(extensionOf('')).toBe('')
  })

  it('ignores a leading dot (hidden files) and dots in folder names', () => {
    expect(extensionOf('.hidden')).toBe('')
    expect(extensionOf('some/.hidden')).toBe('')
    expect(extensionOf('folder.d/file')).toBe('')
    expect(extensionOf('folder.d/file.PNG')).toBe('png')
  })
})

describe('stemOf', () => {
  it('drops the folder and the last extension only', () => {
    expect(stemOf('a/b.c.jpg')).toBe('b.c')
    expect(stemOf('cat.jpg')).toBe('cat')
    expect(stemOf('x/y/IMG_0001.JPG')).toBe('IMG_0001')
  })

  it('keeps names without an extension, and hidden files, whole', () => {
    expect(stemOf('dir/noext')).toBe('noext')
    expect(stemOf('.hidden')).toBe('.hidden')
    expect(stemOf('folder.d/file')).toBe('file')
  })
})

describe('naturalSort', () => {
  it('puts img2 before img10', () => {
    expect(naturalSort(['img10.jpg', 'img2.jpg', 'img1.jpg', 'img100.jpg', 'img20.jpg'])).toEqual([
      'img1.jpg',
      'img2.jpg',
      'img10.jpg',
      'img20.jpg',
      'img100.jpg',
    ])
  })

  it('does not modify its input', () => {
    const input = ['b.jpg', 'a.jpg'] as const
    const copy = [...input]
    naturalSort(input)
    expect([...input]).toEqual(copy)
  })

  it('ignores case when ordering names', () => {
    expect(naturalSort(['Img10.jpg', 'img9.jpg', 'IMG11.jpg'])).toEqual(['img9.jpg', 'Img10.jpg', 'IMG11.jpg'])
    expect(naturalSort(['c.jpg', 'B.jpg', 'a.jpg'])).toEqual(['a.jpg', 'B.jpg', 'c.jpg'])
  })

  it('gives the same order whatever order the paths arrive in (numbering must not depend on readdir order)', () => {
    const paths = ['a.jpg', 'A.jpg', 'b.jpg', 'B.jpg', 'img2.png', 'IMG2.png']
    const expected = naturalSort(paths)
    expect(naturalSort([...paths].reverse())).toEqual(expected)
    expect(naturalSort(['A.jpg', 'a.jpg'])).toEqual(naturalSort(['a.jpg', 'A.jpg']))
  })

  it('sorts paths in subfolders naturally, keeping each folder together', () => {
    expect(naturalSort(['b/img1.jpg', 'a/img10.jpg', 'a/sub/img1.jpg', 'a/img2.jpg'])).toEqual([
      'a/img2.jpg',
      'a/img10.jpg',
      'a/sub/img1.jpg',
      'b/img1.jpg',
    ])
    expect(naturalSort(['set10/x.jpg', 'set9/x.jpg', 'set9/img10.jpg', 'set9/img9.jpg'])).toEqual([
      'set9/img9.jpg',
      'set9/img10.jpg',
      'set9/x.jpg',
      'set10/x.jpg',
    ])
  })
})

describe('isValidPrefix', () => {
  it('accepts ordinary file-name prefixes', () => {
    expect(isValidPrefix('img_')).toBe(true)
    expect(isValidPrefix('cat-')).toBe(true)
    expect(isValidPrefix('ohwx style ')).toBe(true)
    expect(isValidPrefix('ünïcode_')).toBe(true)
    expect(isValidPrefix('a.b_')).toBe(true)
    expect(isValidPrefix('x'.repeat(64))).toBe(true)
  })

  it('rejects path separators, NUL and a leading dot', () => {
    expect(isValidPrefix('a/b')).toBe(false)
    expect(isValidPrefix('a\\b')).toBe(false)
    expect(isValidPrefix('img\0')).toBe(false)
    expect(isValidPrefix('.img')).toBe(false)
    expect(isValidPrefix('..')).toBe(false)
  })

  it('rejects prefixes longer than 64 characters', () => {
    expect(isValidPrefix('x'.repeat(65))).toBe(false)
  })
})
