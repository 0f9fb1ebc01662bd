/**
 * BatchReplacer (src/adapters/fs.ts): the atomic caption replacement of journaled changes, which on a local Linux
 * file system holds each replaced file (O_PATH) across the rename and closes it on the thread pool. Real files in
 * a temp folder; the open descriptors are counted in /proc/self/fd (Linux), so a leaked or unbounded descriptor, or
 * a `finish` that does not wait, fails the test.
 */
import {execFileSync, spawn} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {BatchReplacer, holdsReplacedFiles, TEMP_MARKER} from '../../src/adapters/fs.js'
import {makeTemp, removeTemp} from '../helpers.js'

const hasProcFd = fs.existsSync('/proc/self/fd')
if (!hasProcFd)
  console.log('batch-replacer.test.ts: no /proc/self/fd on this platform; descriptor counts are not checked')

/** Open descriptors of this process, or 0 where they cannot be counted. */
const openFds = (): number => (hasProcFd ? fs.readdirSync('/proc/self/fd').length : 0)

let dir: string
beforeEach(async () => {
  dir = await makeTemp('lora-replacer-')
})
afterEach(async () => {
  await removeTemp(dir)
})

/**
 * Replaces each path with its text through one replacer, awaiting when asked. Returns how often it had to wait,
 * how many old files it held, the peak of open descriptors, and the open descriptors right after `finish` resolved.
 */
async function replaceAll(
  items: [string, string][],
): Promise<{waits: number; held: number; peakFds: number; afterFinish: number}> {
  const replacer = new BatchReplacer()
  let waits = 0
  let peakFds = 0
  for (const [path, text] of items) {
    const wait = replacer.replace(path, text)
    peakFds = Math.max(peakFds, openFds())
    if (wait) {
      waits++
      await wait
    }
  }
  await replacer.finish()
  expect(replacer.closing).toBe(0)
  return {waits, held: replacer.held, peakFds, afterFinish: openFds()}
}

describe('BatchReplacer', () => {
  it('replaces 500 files with their new content; old files held (bounded) while running, all closed when finish resolves', async () => {
    const paths = Array.from({length: 500}, (_, i) => join(dir, `img_${String(i).padStart(4, '0')}.txt`))
    for (const p of paths) await fsp.writeFile(p, 'old, tags\n')
    const inodes = await Promise.all(paths.map(async (p) => (await fsp.stat(p)).ino))
    const before = openFds()
    const {waits, held, peakFds, afterFinish} = await replaceAll(paths.map((p, i) => [p, `new ${i}\n`]))
    for (const [i, p] of paths.entries()) expect(await fsp.readFile(p, 'utf8')).toBe(`new ${i}\n`)
    // Replaced, not rewritten in place: every caption is a new file.
    const after = await Promise.all(paths.map(async (p) => (await fsp.stat(p)).ino))
    expect(after.filter((ino, i) => ino === inodes[i])).toEqual([])
    expect((await fsp.readdir(dir)).filter((n) => n.startsWith(TEMP_MARKER))).toEqual([])
    if (hasProcFd) expect(afterFinish).toBe(before)
    if (!holdsReplacedFiles(dir)) {
      console.log(
        `batch-replacer.test.ts: ${dir} is not a file system where old files are held; hold counts not checked`,
      )
      expect(held).toBe(0)
      return
    }
    expect(held).toBe(500)
    // Close callbacks run only when the caller awaits: 500 holds exceed MAX_CLOSES_IN_FLIGHT unless it is made to.
    expect(waits).toBeGreaterThan(0)
    if (hasProcFd) expect(peakFds - before).toBeLessThanOrEqual(BatchReplacer.MAX_CLOSES_IN_FLIGHT + 2)
  })

  it('replacement, not rewriting: a reader of the old file keeps reading it; a new open sees the new one', async () => {
    const path = join(dir, 'a.txt')
    await fsp.writeFile(path, 'old\n')
    const reader = await fsp.open(path, 'r')
    try {
      await replaceAll([[path, 'new\n']])
      expect(await reader.readFile('utf8')).toBe('old\n')
      expect(await fsp.readFile(path, 'utf8')).toBe('new\n')
    } finally {
      await reader.close()
    }
  })

  it('creates a missing file; replaces a symlink itself (its target untouched) and a FIFO, which it never opens', async () => {
    const missing = join(dir, 'missing.txt')
    const target = join(dir, 'elsewhere.txt')
    const link = join(dir, 'link.txt')
    const fifo = join(dir, 'fifo.txt')
    await fsp.writeFile(target, 'not ours\n')
    await fsp.symlink(target, link)
    execFileSync('mkfifo', [fifo])
    // A writer waits in open() until someone opens the FIFO for reading: if the replacer opened it, it would finish.
    const writer = spawn('sh', ['-c', `echo hi > '${fifo}'`], {stdio: 'ignore'})
    const writerDone = new Promise<void>((resolve) => writer.on('exit', () => resolve()))
    let writerFinished = false
    void writerDone.then(() => (writerFinished = true))
    const before = openFds()
    try {
      await new Promise((r) => setTimeout(r, 200))
      await replaceAll([
        [missing, 'm\n'],
        [link, 'l\n'],
        [fifo, 'f\n'],
      ])
      await new Promise((r) => setTimeout(r, 300))
      expect(writerFinished).toBe(false)
    } finally {
      writer.kill('SIGKILL')
      await writerDone
    }
    expect(await fsp.readFile(missing, 'utf8')).toBe('m\n')
    expect((await fsp.lstat(link)).isFile()).toBe(true)
    expect(await fsp.readFile(link, 'utf8')).toBe('l\n')
    expect(await fsp.readFile(target, 'utf8')).toBe('not ours\n')
    expect((await fsp.lstat(fifo)).isFile()).toBe(true)
    expect(await fsp.readFile(fifo, 'utf8')).toBe('f\n')
    expect(openFds()).toBe(before)
  }, 10_000)

  it('a failed rename (a folder in the way) throws the system error, removes its temp file and leaks no descriptor', async () => {
    const blocked = join(dir, 'blocked.txt')
    await fsp.mkdir(blocked)
    await fsp.writeFile(join(blocked, 'keep'), 'x')
    const before = openFds()
    const replacer = new BatchReplacer()
    expect(() => replacer.replace(blocked, 'new\n')).toThrow(
      expect.objectContaining({code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/u)}),
    )
    await replacer.finish()
    expect(await fsp.readFile(join(blocked, 'keep'), 'utf8')).toBe('x')
    expect((await fsp.readdir(dir)).sort()).toEqual(['blocked.txt'])
    expect(openFds()).toBe(before)
  })

  it('holds replaced files on local Linux file systems only', () => {
    if (process.platform !== 'linux') {
      expect(holdsReplacedFiles(dir)).toBe(false)
      return
    }
    // /proc is a real mount whose type is not a local disk file system; /dev/shm is tmpfs where it exists.
    expect(holdsReplacedFiles('/proc')).toBe(false)
    expect(holdsReplacedFiles(join(dir, 'no such folder'))).toBe(false)
    if (fs.existsSync('/dev/shm')) expect(holdsReplacedFiles('/dev/shm')).toBe(true)
  })
})
