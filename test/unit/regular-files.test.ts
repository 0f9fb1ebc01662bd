/**
 * The fs adapter's readers of files lora expects to be regular (README "Safety model", rule 1): they never follow a
 * link at the last component, never block on a FIFO, never read a device, and say what is there instead.
 * Real files, links and FIFOs in a temp folder.
 */
import {execFileSync} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {
  copyFileExclusive,
  copyFileIntoStaging,
  FileTooLargeError,
  linkExclusive,
  NotRegularFileError,
  openAppendFile,
  placeFileBatch,
  readRegularBytesIfExists,
  readRegularBytesIfExistsSync,
  readRegularTextIfExistsSync,
  resolveReal,
} from '../../src/adapters/fs.js'
import {createHeadReader} from '../../src/adapters/file-head.js'
import {fromSystemError} from '../../src/errors.js'
import {PREVIEW_MAX_BYTES, previewPixels} from '../../src/adapters/preview-image.js'

let dir: string
beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'lora-regular-'))
  await fsp.writeFile(join(dir, 'plain.txt'), 'a, b\n')
  await fsp.writeFile(join(dir, 'secret.txt'), 'hunter2\n')
  await fsp.symlink(join(dir, 'secret.txt'), join(dir, 'link.txt'))
  await fsp.symlink('/dev/zero', join(dir, 'zero.txt'))
  await fsp.mkdir(join(dir, 'folder.txt'))
  execFileSync('mkfifo', [join(dir, 'fifo.txt')])
})
afterAll(async () => fsp.rm(dir, {recursive: true, force: true}))

describe('readRegularTextIfExistsSync', () => {
  it('reads a regular file; undefined when nothing is there (or a parent is a file)', () => {
    expect(readRegularTextIfExistsSync(join(dir, 'plain.txt'))).toBe('a, b\n')
    expect(readRegularTextIfExistsSync(join(dir, 'missing.txt'))).toBeUndefined()
    expect(readRegularTextIfExistsSync(join(dir, 'plain.txt', 'x'))).toBeUndefined()
  })
  it.each([
    ['link.txt', 'symlink'],
    ['zero.txt', 'symlink'],
    ['folder.txt', 'folder'],
    ['fifo.txt', 'fifo'],
  ])('refuses %s (%s) at once, without reading it', (name, kind) => {
    const started = Date.now()
    let thrown: unknown
    try {
      readRegularTextIfExistsSync(join(dir, name))
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(NotRegularFileError)
    expect(thrown).toMatchObject({kind, code: 'ENOTREG', path: join(dir, name)})
    // Refused without blocking: an open or read that blocked on the FIFO would not return at all.
    expect(Date.now() - started).toBeLessThan(10_000)
  })
})

describe('readRegularBytesIfExists (async)', () => {
  it('reads the whole file: empty, small, several MB; a file whose size says 0 (procfs) to its end', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 77)
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 0xff
    await fsp.writeFile(join(dir, 'big.bin'), big)
    await fsp.writeFile(join(dir, 'empty.bin'), '')
    expect((await readRegularBytesIfExists(join(dir, 'big.bin')))!.equals(big)).toBe(true)
    expect(await readRegularBytesIfExists(join(dir, 'empty.bin'))).toEqual(Buffer.alloc(0))
    expect((await readRegularBytesIfExists(join(dir, 'plain.txt')))!.toString()).toBe('a, b\n')
    expect(await readRegularBytesIfExists(join(dir, 'missing.txt'))).toBeUndefined()
    // /proc files are regular files that stat as 0 bytes and still hold text.
    const status = await readRegularBytesIfExists('/proc/self/status')
    expect(status!.toString()).toMatch(/^Name:/u)
    expect(status!.toString()).toMatch(/\nPid:\s+\d+/u)
  })
  it.each([
    ['link.txt', 'symlink'],
    ['folder.txt', 'folder'],
    ['fifo.txt', 'fifo'],
  ])('refuses %s (%s) without reading it', async (name, kind) => {
    await expect(readRegularBytesIfExists(join(dir, name))).rejects.toMatchObject({kind, code: 'ENOTREG'})
  })
})

describe('placing a file (journal, export): only a regular source is copied or linked', () => {
  const placers: [string, (src: string, dest: string) => Promise<void> | void][] = [
    ['placeFileBatch copy', (src, dest) => placeFileBatch(src, dest, 'copy')],
    ['placeFileBatch link', (src, dest) => placeFileBatch(src, dest, 'link')],
    ['copyFileExclusive', copyFileExclusive],
    ['copyFileIntoStaging', copyFileIntoStaging],
    ['linkExclusive', linkExclusive],
  ]
  const cases = placers.flatMap(([name, place]) =>
    [
      ['link.txt', 'symlink'],
      ['folder.txt', 'folder'],
    ].map(([source, kind]) => [name, source, kind, place] as const),
  )

  it.each(cases)(
    '%s refuses %s (%s): NotRegularFileError, nothing left at the destination',
    async (_, source, kind, place) => {
      const out = await fsp.mkdtemp(join(dir, 'out-'))
      let thrown: unknown
      try {
        await place(join(dir, source), join(out, 'x.png'))
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(NotRegularFileError)
      expect(thrown).toMatchObject({kind, path: join(dir, source)})
      // No copy of the secret, no second name of the link, no temp file.
      expect(await fsp.readdir(out)).toEqual([])
    },
  )
})

describe('createHeadReader (validate)', () => {
  it('reads the head of a regular file, refuses a symbolic link, a FIFO and a device without blocking', () => {
    const read = createHeadReader(16)
    expect(read(join(dir, 'plain.txt'))).toMatchObject({ok: true, complete: true})
    expect(read(join(dir, 'link.txt'))).toEqual({ok: false, code: 'not a regular file'})
    expect(read(join(dir, 'fifo.txt'))).toEqual({ok: false, code: 'not a regular file'})
    expect(read(join(dir, 'zero.txt'))).toEqual({ok: false, code: 'not a regular file'})
  })
})

describe('resolveReal', () => {
  it('resolves links in the existing part and keeps the missing rest', async () => {
    await fsp.symlink(dir, join(dir, 'again'))
    expect(resolveReal(join(dir, 'again', 'new', 'deeper'))).toBe(join(await fsp.realpath(dir), 'new', 'deeper'))
    expect(resolveReal(join(dir, 'link.txt'))).toBe(join(await fsp.realpath(dir), 'secret.txt'))
  })
})

describe('openAppendFile, and how a refusal reads', () => {
  it.each([
    ['link.txt', 'symlink', /link\.txt is a symbolic link, where lora expects a regular file/],
    ['fifo.txt', 'fifo', /fifo\.txt is a FIFO \(named pipe\), where lora expects a regular file/],
  ])(
    'refuses %s (%s) without writing through it; the error printer names it, not "unexpected"',
    async (name, kind, says) => {
      const error = await openAppendFile(join(dir, name)).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(NotRegularFileError)
      expect(error).toMatchObject({kind, code: 'ENOTREG'})
      expect(await fsp.readFile(join(dir, 'secret.txt'), 'utf8')).toBe('hunter2\n')
      const printed = fromSystemError(error)
      expect(printed?.message).toMatch(says)
      expect(printed?.hint).toMatch(/Replace it with the real file/)
    },
  )
})

describe('a size cap', () => {
  it('a file larger than maxBytes is refused before any byte is read; the preview refuses one past 512 MiB', async () => {
    const big = join(dir, 'padded.jpg')
    await fsp.writeFile(big, '')
    await fsp.truncate(big, PREVIEW_MAX_BYTES + 1) // sparse: nothing is written, and reading it would take 512 MiB
    expect(() => readRegularBytesIfExistsSync(big, {maxBytes: 1024})).toThrow(FileTooLargeError)
    expect(readRegularBytesIfExistsSync(join(dir, 'plain.txt'), {maxBytes: 5})?.toString()).toBe('a, b\n')
    const error = await previewPixels(big, 'rgb', () => ({width: 8, height: 8})).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(FileTooLargeError)
    expect((error as Error).message).toBe(`${big} is 513 MiB, more than lora reads for it (512 MiB)`)
  })
})
