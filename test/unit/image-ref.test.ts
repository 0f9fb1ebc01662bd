import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {resolveImageRef, type RefContext} from '../../src/core/image-ref.js'
import type {ImageRecord} from '../../src/core/state.js'
import {UsageError} from '../../src/errors.js'
import {makeTemp, removeTemp} from '../helpers.js'

function image(n: number, ext: string, source: string): ImageRecord {
  const id = `img_${String(n).padStart(4, '0')}`
  return {
    id,
    n,
    file: `${id}.${ext}`,
    source,
    sha256: String(n).padStart(64, '0'),
    bytes: 1000 + n,
    width: 64,
    height: 48,
    format: ext === 'jpg' ? 'jpeg' : ext,
    status: 'pending',
    tags: [],
    updatedAt: null,
  }
}

const images: ImageRecord[] = [
  image(1, 'jpg', 'photos/cat.jpg'),
  image(2, 'png', 'photos/dog.png'),
  image(3, 'jpg', 'other/cat.jpg'),
  image(4, 'webp', 'photos/sub/bird.webp'),
  image(42, 'gif', 'top.gif'),
]

const byId = (id: string) => images.find((i) => i.id === id)!

describe('resolveImageRef', () => {
  let root: string
  let output: string
  let ctx: RefContext

  beforeAll(async () => {
    root = await makeTemp('lora-ref-')
    output = join(root, 'output')
    await fsp.mkdir(output)
    await fsp.mkdir(join(root, 'photos', 'sub'), {recursive: true})
    await fsp.mkdir(join(root, 'other'))
    for (const i of images) await fsp.writeFile(join(output, i.file), 'x')
    ctx = {cwd: root, root, outputDir: output}
  })

  afterAll(async () => {
    await removeTemp(root)
  })

  function thrown(ref: string, context: RefContext = ctx): UsageError {
    let error: unknown
    try {
      resolveImageRef(images, ref, context)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(UsageError)
    return error as UsageError
  }

  it('finds an image by number, with or without padding', () => {
    expect(resolveImageRef(images, '42', ctx)).toBe(byId('img_0042'))
    expect(resolveImageRef(images, '2', ctx)).toBe(byId('img_0002'))
    expect(resolveImageRef(images, '0002', ctx)).toBe(byId('img_0002'))
    expect(resolveImageRef(images, ' 3 ', ctx)).toBe(byId('img_0003'))
  })

  it('finds an image by id', () => {
    expect(resolveImageRef(images, 'img_0004', ctx)).toBe(byId('img_0004'))
    expect(resolveImageRef(images, 'img_0042', ctx)).toBe(byId('img_0042'))
  })

  it('finds an image by its file name in the output folder', () => {
    expect(resolveImageRef(images, 'img_0002.png', ctx)).toBe(byId('img_0002'))
    expect(resolveImageRef(images, 'img_0004.webp', ctx)).toBe(byId('img_0004'))
  })

  it('finds an image by its caption file name', () => {
    expect(resolveImageRef(images, 'img_0002.txt', ctx)).toBe(byId('img_0002'))
    expect(resolveImageRef(images, 'img_0001.caption', ctx)).toBe(byId('img_0001'))
  })

  it('finds an image by the absolute path of its file or caption in the output folder', () => {
    expect(resolveImageRef(images, join(output, 'img_0004.webp'), ctx)).toBe(byId('img_0004'))
    expect(resolveImageRef(images, join(output, 'img_0003.txt'), ctx)).toBe(byId('img_0003'))
    // From a cwd unrelated to the dataset, too.
    expect(resolveImageRef(images, join(output, 'img_0002.png'), {...ctx, cwd: '/'})).toBe(byId('img_0002'))
  })

  it('finds an image by a path relative to the current folder', () => {
    expect(resolveImageRef(images, 'output/img_0002.png', ctx)).toBe(byId('img_0002'))
    expect(resolveImageRef(images, './output/img_0003.txt', ctx)).toBe(byId('img_0003'))
    expect(resolveImageRef(images, './img_0001.jpg', {...ctx, cwd: output})).toBe(byId('img_0001'))
    expect(resolveImageRef(images, '../output/img_0042.gif', {...ctx, cwd: join(root, 'photos')})).toBe(
      byId('img_0042'),
    )
  })

  it("finds an image by its original's path", () => {
    expect(resolveImageRef(images, 'photos/dog.png', ctx)).toBe(byId('img_0002'))
    expect(resolveImageRef(images, 'other/cat.jpg', ctx)).toBe(byId('img_0003'))
    expect(resolveImageRef(images, './photos/sub/bird.webp', ctx)).toBe(byId('img_0004'))
    expect(resolveImageRef(images, join(root, 'photos', 'cat.jpg'), {...ctx, cwd: '/'})).toBe(byId('img_0001'))
    // Relative to a cwd inside the dataset.
    expect(resolveImageRef(images, 'cat.jpg', {...ctx, cwd: join(root, 'other')})).toBe(byId('img_0003'))
    expect(resolveImageRef(images, 'sub/bird.webp', {...ctx, cwd: join(root, 'photos')})).toBe(byId('img_0004'))
    // As recorded (relative to the dataset folder), from anywhere.
    expect(resolveImageRef(images, 'photos/dog.png', {...ctx, cwd: '/'})).toBe(byId('img_0002'))
  })

  it("finds an image by its original's file name when that is unique", () => {
    expect(resolveImageRef(images, 'dog.png', ctx)).toBe(byId('img_0002'))
    expect(resolveImageRef(images, 'bird.webp', ctx)).toBe(byId('img_0004'))
    expect(resolveImageRef(images, 'bird.webp', {...ctx, cwd: '/'})).toBe(byId('img_0004'))
  })

  it('refuses an original file name that several images had, listing them (UsageError, exit 2)', () => {
    const e = thrown('cat.jpg')
    expect(e.exitCode).toBe(2)
    expect(e.message).toContain('"cat.jpg"')
    expect(e.message).toContain('img_0001 (photos/cat.jpg)')
    expect(e.message).toContain('img_0003 (other/cat.jpg)')
    expect(e.message).not.toContain('img_0002')
    expect(e.hint).toBeTruthy()
  })

  it('refuses a reference nothing matches (UsageError, exit 2)', () => {
    for (const ref of ['nope', '99', 'img_0099', 'output/img_0099.jpg', 'photos/missing.jpg', 'cat.png', '']) {
      const e = thrown(ref)
      expect(e.exitCode).toBe(2)
      expect(e.code).toBe('usage')
      expect(e.message).toContain(`No image matches "${ref}"`)
      // The ids there are, by number (img_0001 … img_0042, whatever the order of the records), and where to see them.
      expect(e.hint).toBe(
        'Name an image by number (42), id (img_0042), file name or path; its images are img_0001 to img_0042 (`lora ls` lists them with their files).',
      )
    }
  })

  it('does not match a file outside the output folder by its name alone', () => {
    // photos/img_0002.png is not the output file img_0002.png.
    const e = thrown('photos/img_0002.png')
    expect(e.message).toContain('No image matches')
  })

  it('does not match files in a subfolder of the output folder', () => {
    const e = thrown(join('output', 'nested', 'img_0002.png'))
    expect(e.message).toContain('No image matches')
  })

  it('finds nothing in an empty dataset, and says it has no image; one image is named', () => {
    expect(() => resolveImageRef([], '1', ctx)).toThrow(UsageError)
    expect(() => resolveImageRef([], '1', ctx)).toThrow(
      expect.objectContaining({
        hint: expect.stringMatching(/the dataset has no image yet \(`lora init` adds them\)\.$/u),
      }),
    )
    expect(() => resolveImageRef([images[4]], '1', ctx)).toThrow(
      expect.objectContaining({hint: expect.stringMatching(/its one image is img_0042 \(`lora ls`/u)}),
    )
  })
})
