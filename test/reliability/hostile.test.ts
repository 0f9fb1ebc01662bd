/**
 * Hostile and odd inputs to `lora init`, generated from the real photos: empty, truncated, mislabelled and
 * non-image files, a 20000×20000 PNG bomb, CMYK and 16-bit images, every EXIF orientation, names that differ only
 * in case or Unicode normalisation, names with spaces, a newline, a leading `-`, 255 bytes, bytes that are not
 * UTF-8, symlinks (outside the folder, a loop), a FIFO, a folder named like an image, an unreadable file, a file
 * in the way in output/, a stale `.lora-tagger/` from a killed run.
 *
 * Each case gets its own folder and one `lora init . --json` (copy mode), with a time limit (a hang is a bug).
 * Each subject file must be imported with the right format and upright size, or listed as a problem with a
 * reason (or the run refused with a clear error, where that is the documented outcome); and every original —
 * names as raw bytes, file types, symlink targets, permissions and sha256 — must be identical afterwards.
 *
 * Same cases in both modes (they are cheap), but for the EXIF orientations: each value once in fast mode (the
 * landscape and the portrait picture alternating), both pictures for each value in full mode. Full mode prints the
 * figures.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import sharp from 'sharp'
import {
  cliBin,
  CONCURRENCY,
  FULL,
  cleanEnv,
  SHARED_DATA,
  cleanup,
  figures,
  hasShared,
  itIf,
  itShared,
  lora,
  pool,
  SHARED_MISSING,
  restingProblems,
  sh,
  snapshot,
  spawnLora,
  tempDir,
  type RunResult,
} from './reliability-helpers.js'
import {createHash} from 'node:crypto'

const PHOTOS = join(SHARED_DATA, 'photos')
const EXIF = join(SHARED_DATA, 'exif-orientation')
const HANG_MS = 60_000

type Expect =
  | {kind: 'image'; format: string; width: number; height: number}
  | {kind: 'problem'; reason?: RegExp}
  | {kind: 'image-or-problem'; format: string; width: number; height: number}
  | {kind: 'ignored-or-problem'}
  | {kind: 'duplicate'}

interface Case {
  name: string
  /** Files lora must account for: their name as lora reports it (`source`), and what must happen to them. */
  subjects: {source: string; expect: Expect}[]
  /** Makes the case's files in `dir` (the folder `lora init` runs on); `outside` is a sibling folder. */
  setup: (dir: string, outside: string) => Promise<void>
  /** Runs the case instead of a plain `lora init . --json`; returns violations. */
  run?: (dir: string) => Promise<string[]>
}

const bytes = (path: string) => fs.readFileSync(path)
const photo = (name: string) => join(PHOTOS, name)
const put = (dir: string, name: string | Buffer, data: Buffer | string) =>
  fsp.writeFile(Buffer.isBuffer(name) ? Buffer.concat([Buffer.from(dir + '/'), name]) : join(dir, name), data)

interface Size {
  width: number
  height: number
}
let cache: {
  bomb: Buffer
  cmyk: Buffer
  png16: Buffer
  jpeg: Buffer
  jpeg2: Buffer
  jpeg3: Buffer
  png: Buffer
  landscape: Size
  portrait: Size
  sizes: Record<string, Size>
}
/** The sizes (from sharp, read independently here) of the photos the cases are made of. */
const size = (what: string): Size => cache.sizes[what]

/** The 20000×20000 PNG bomb (427 KB; slow to make, so cached in the temp folder between runs). */
async function bomb(): Promise<Buffer> {
  const path = join(tmpdir(), 'lora-reliability-bomb-20000x20000-v1.png')
  const cached = await fsp.readFile(path).catch(() => undefined)
  if (cached) {
    const meta = await sharp(cached, {limitInputPixels: false})
      .metadata()
      .catch(() => undefined)
    if (meta?.width === 20000 && meta.height === 20000) return cached
  }
  const data = await sharp({
    create: {width: 20000, height: 20000, channels: 3, background: {r: 255, g: 255, b: 255}},
    limitInputPixels: false,
  })
    .toColourspace('b-w')
    .png({compressionLevel: 9})
    .toBuffer()
  await fsp.writeFile(`${path}.${process.pid}`, data)
  await fsp.rename(`${path}.${process.pid}`, path)
  return data
}

beforeAll(async () => {
  if (!hasShared) return
  const [b, cmyk, png16, l0, p0] = await Promise.all([
    bomb(),
    sharp(photo('plasma-Path-1280x1024.jpg')).toColourspace('cmyk').jpeg().toBuffer(),
    sharp(photo('skimage-coffee.png')).toColourspace('rgb16').png().toBuffer(),
    sharp(join(EXIF, 'Landscape_0.jpg')).metadata(),
    sharp(join(EXIF, 'Portrait_0.jpg')).metadata(),
  ])
  const sizes: Record<string, Size> = {}
  for (const [what, name] of [
    ['jpeg', 'plasma-Kite-1280x1024.jpg'],
    ['jpeg2', 'plasma-Grey-1280x1024.jpg'],
    ['jpeg3', 'plasma-DarkestHour-1280x1024.jpg'],
    ['png', 'skimage-astronaut.png'],
    ['cmyk', 'plasma-Path-1280x1024.jpg'],
    ['png16', 'skimage-coffee.png'],
    ['gif', 'skimage-no_time_for_that_tiny.gif'],
    ['webp', 'gnome-symbolic-l.webp'],
    ['tif', 'skimage-chessboard_GRAY_U16.tif'],
  ]) {
    const m = await sharp(photo(name)).metadata()
    sizes[what] = {width: m.width, height: m.height}
  }
  cache = {
    sizes,
    bomb: b,
    cmyk,
    png16,
    jpeg: bytes(photo('plasma-Kite-1280x1024.jpg')),
    jpeg2: bytes(photo('plasma-Grey-1280x1024.jpg')),
    jpeg3: bytes(photo('plasma-DarkestHour-1280x1024.jpg')),
    png: bytes(photo('skimage-astronaut.png')),
    landscape: {width: l0.width, height: l0.height},
    portrait: {width: p0.width, height: p0.height},
  }
  expect((await sharp(cmyk).metadata()).space).toBe('cmyk')
  expect((await sharp(png16).metadata()).depth).toBe('ushort')
}, 180_000)
afterAll(cleanup)

const image = (format: string, width: number, height: number): Expect => ({kind: 'image', format, width, height})
const problem = (reason?: RegExp): Expect => ({kind: 'problem', reason})
const one = (source: string, expect: Expect) => [{source, expect}]

function cases(): Case[] {
  const c = cache
  const list: Case[] = [
    {name: '0-byte .jpg', subjects: one('empty.jpg', problem(/empty/u)), setup: (d) => put(d, 'empty.jpg', '')},
    {name: '0-byte .png', subjects: one('empty.png', problem(/empty/u)), setup: (d) => put(d, 'empty.png', '')},
    {
      name: 'JPEG cut in half',
      subjects: one('half.jpg', {kind: 'image-or-problem', format: 'jpeg', ...size('jpeg')}),
      setup: (d) => put(d, 'half.jpg', c.jpeg.subarray(0, c.jpeg.length >> 1)),
    },
    {
      name: 'JPEG cut in its header',
      subjects: one('head.jpg', problem()),
      setup: (d) => put(d, 'head.jpg', c.jpeg.subarray(0, 150)),
    },
    {
      name: 'PNG cut in half',
      subjects: one('half.png', {kind: 'image-or-problem', format: 'png', ...size('png')}),
      setup: (d) => put(d, 'half.png', c.png.subarray(0, c.png.length >> 1)),
    },
    {
      name: 'PNG cut in its header',
      subjects: one('head.png', problem()),
      setup: (d) => put(d, 'head.png', c.png.subarray(0, 20)),
    },
    {name: 'PNG named .jpg', subjects: one('png.jpg', problem(/png/u)), setup: (d) => put(d, 'png.jpg', c.png)},
    {name: 'JPEG named .png', subjects: one('jpeg.png', problem(/jpeg/u)), setup: (d) => put(d, 'jpeg.png', c.jpeg)},
    {
      name: 'text named .jpg',
      subjects: one('notes.jpg', problem()),
      setup: (d) => put(d, 'notes.jpg', 'just some text, not an image\n'.repeat(20)),
    },
    {
      name: 'SVG named .png',
      subjects: one('vector.png', problem()),
      setup: (d) =>
        put(
          d,
          'vector.png',
          '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>\n',
        ),
    },
    {
      name: 'PDF named .png',
      subjects: one('doc.png', problem()),
      setup: (d) =>
        put(
          d,
          'doc.png',
          '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 64 64]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
        ),
    },
    {
      name: '20000×20000 PNG bomb',
      subjects: one('bomb.png', problem(/too large|limit/u)),
      setup: (d) => put(d, 'bomb.png', c.bomb),
    },
    {
      name: 'CMYK JPEG',
      subjects: one('cmyk.jpg', image('jpeg', size('cmyk').width, size('cmyk').height)),
      setup: (d) => put(d, 'cmyk.jpg', c.cmyk),
    },
    {
      name: '16-bit PNG',
      subjects: one('deep.png', image('png', size('png16').width, size('png16').height)),
      setup: (d) => put(d, 'deep.png', c.png16),
    },
  ]
  for (const kind of ['Landscape', 'Portrait'] as const) {
    for (let o = 0; o <= 8; o++) {
      // Fast mode: each orientation once, the picture alternating (even: landscape, odd: portrait), so that the
      // transposing ones (5-8) still run on both shapes. Full mode: both pictures for every orientation.
      if (!FULL && kind !== (o % 2 === 0 ? 'Landscape' : 'Portrait')) continue
      const up = kind === 'Landscape' ? c.landscape : c.portrait
      list.push({
        name: `EXIF orientation ${o} (${kind})`,
        subjects: one(`${kind}_${o}.jpg`, image('jpeg', up.width, up.height)),
        setup: (d) => fsp.copyFile(join(EXIF, `${kind}_${o}.jpg`), join(d, `${kind}_${o}.jpg`)),
      })
    }
  }
  list.push(
    {
      name: 'IMG.JPG next to img.jpg',
      subjects: [
        {source: 'IMG.JPG', expect: image('jpeg', size('jpeg').width, size('jpeg').height)},
        {source: 'img.jpg', expect: image('jpeg', size('jpeg2').width, size('jpeg2').height)},
      ],
      setup: async (d) => {
        await put(d, 'IMG.JPG', c.jpeg)
        await put(d, 'img.jpg', c.jpeg2)
      },
    },
    {
      name: 'café in NFC and NFD',
      subjects: [
        {source: 'caf\u00e9.jpg', expect: image('jpeg', size('jpeg').width, size('jpeg').height)},
        {source: 'cafe\u0301.jpg', expect: image('jpeg', size('jpeg2').width, size('jpeg2').height)},
      ],
      setup: async (d) => {
        await put(d, 'caf\u00e9.jpg', c.jpeg)
        await put(d, 'cafe\u0301.jpg', c.jpeg2)
      },
    },
    {
      name: 'name with spaces',
      subjects: one('my holiday  photo .jpg', image('jpeg', size('jpeg').width, size('jpeg').height)),
      setup: (d) => put(d, 'my holiday  photo .jpg', c.jpeg),
    },
    {
      name: 'name with a newline',
      subjects: one('two\nlines.jpg', image('jpeg', size('jpeg').width, size('jpeg').height)),
      setup: (d) => put(d, 'two\nlines.jpg', c.jpeg),
    },
    {
      name: 'name with a leading -',
      subjects: one('-rf.jpg', image('jpeg', size('jpeg').width, size('jpeg').height)),
      setup: (d) => put(d, '-rf.jpg', c.jpeg),
    },
    {
      name: 'name of 255 bytes (ASCII)',
      subjects: one('a'.repeat(251) + '.jpg', image('jpeg', size('jpeg').width, size('jpeg').height)),
      setup: (d) => put(d, 'a'.repeat(251) + '.jpg', c.jpeg),
    },
    {
      name: 'name of 255 bytes (multi-byte UTF-8)',
      subjects: one('b' + '\u00e9'.repeat(125) + '.jpg', image('jpeg', size('jpeg').width, size('jpeg').height)),
      setup: (d) => put(d, 'b' + '\u00e9'.repeat(125) + '.jpg', c.jpeg),
    },
    {
      name: 'name that is not UTF-8',
      subjects: one(Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x6a, 0x70, 0x67]).toString('utf8'), {
        kind: 'image-or-problem',
        format: 'jpeg',
        ...size('jpeg'),
      }),
      setup: (d) => put(d, Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x6a, 0x70, 0x67]), c.jpeg),
    },
    {
      name: 'symlink to an image outside the folder',
      subjects: one('outside.jpg', {kind: 'image-or-problem', format: 'jpeg', ...size('jpeg')}),
      setup: async (d, out) => {
        await put(out, 'target.jpg', c.jpeg)
        await fsp.symlink(join(out, 'target.jpg'), join(d, 'outside.jpg'))
      },
    },
    {
      name: 'symlink loop',
      subjects: one('loop.jpg', problem()),
      setup: (d) => fsp.symlink('loop.jpg', join(d, 'loop.jpg')),
    },
    {
      name: 'dangling symlink',
      subjects: one('gone.png', problem()),
      setup: (d) => fsp.symlink('nowhere.png', join(d, 'gone.png')),
    },
    {
      name: 'FIFO named x.jpg',
      subjects: one('x.jpg', problem()),
      setup: async (d) => {
        execFileSync('mkfifo', [join(d, 'x.jpg')])
      },
    },
    {
      name: 'folder named y.png',
      subjects: one('y.png', {kind: 'ignored-or-problem'}),
      setup: async (d) => {
        await fsp.mkdir(join(d, 'y.png'))
        await put(join(d, 'y.png'), 'inner.txt', 'x')
      },
    },
    {
      name: 'file with mode 000 (root still reads it)',
      subjects: one('locked.jpg', image('jpeg', size('jpeg').width, size('jpeg').height)),
      setup: async (d) => {
        await put(d, 'locked.jpg', c.jpeg)
        await fsp.chmod(join(d, 'locked.jpg'), 0o000)
      },
    },
    {
      name: 'exact duplicate under another name',
      subjects: [
        {source: 'first.jpg', expect: image('jpeg', size('jpeg').width, size('jpeg').height)},
        {source: 'second.jpg', expect: {kind: 'duplicate'}},
      ],
      setup: async (d) => {
        await put(d, 'first.jpg', c.jpeg)
        await put(d, 'second.jpg', c.jpeg)
      },
    },
    {
      name: 'upper-case .PNG and .JPEG',
      subjects: [
        {source: 'UP.PNG', expect: image('png', size('png').width, size('png').height)},
        {source: 'UP2.JPEG', expect: image('jpeg', size('jpeg').width, size('jpeg').height)},
      ],
      setup: async (d) => {
        await put(d, 'UP.PNG', c.png)
        await put(d, 'UP2.JPEG', c.jpeg)
      },
    },
    {
      name: 'caption next to the original (BOM, CRLF, odd tags)',
      subjects: one('tagged.jpg', image('jpeg', size('jpeg').width, size('jpeg').height)),
      setup: async (d) => {
        await put(d, 'tagged.jpg', c.jpeg)
        await put(d, 'tagged.txt', '\ufeffred  hair, (smile:1.2),\r\n C:\\path , red hair,,\r\n')
      },
    },
    {
      name: 'real GIF, WebP and 16-bit TIFF',
      subjects: [
        {source: 'anim.gif', expect: image('gif', size('gif').width, size('gif').height)},
        {source: 'bg.webp', expect: image('webp', size('webp').width, size('webp').height)},
        {source: 'chess.tif', expect: image('tiff', size('tif').width, size('tif').height)},
      ],
      setup: async (d) => {
        await fsp.copyFile(photo('skimage-no_time_for_that_tiny.gif'), join(d, 'anim.gif'))
        await fsp.copyFile(photo('gnome-symbolic-l.webp'), join(d, 'bg.webp'))
        await fsp.copyFile(photo('skimage-chessboard_GRAY_U16.tif'), join(d, 'chess.tif'))
      },
    },
    {
      name: 'file named img_0001.jpg among the originals',
      subjects: [
        {source: 'img_0001.jpg', expect: image('jpeg', size('jpeg3').width, size('jpeg3').height)},
        {source: 'zz.jpg', expect: image('jpeg', size('jpeg').width, size('jpeg').height)},
      ],
      setup: async (d) => {
        await put(d, 'img_0001.jpg', c.jpeg3)
        await put(d, 'zz.jpg', c.jpeg)
      },
    },
    {
      name: 'an existing output/img_0001.jpg lora did not write',
      subjects: [],
      setup: async (d) => {
        await put(d, 'a.jpg', c.jpeg)
        await fsp.mkdir(join(d, 'output'))
        await put(join(d, 'output'), 'img_0001.jpg', c.jpeg2)
      },
      run: async (d) => {
        const before = await snapshot(d)
        const r = await initJson(d)
        const out: string[] = []
        if (
          r.code !== 1 ||
          !/^error: output\/img_0001\.jpg already exists and is not part of this dataset/mu.test(r.stderr) ||
          !/^hint: /mu.test(r.stderr)
        )
          out.push(`expected exit 1 naming output/img_0001.jpg, got ${r.code}: ${r.stderr.trim()}`)
        const after = await snapshot(d)
        if (JSON.stringify(after) !== JSON.stringify(before))
          out.push(`the folder changed: ${JSON.stringify(Object.keys(after).filter((k) => after[k] !== before[k]))}`)
        return out
      },
    },
    {
      name: 'a stale .lora-tagger/ from a killed init (lock, journal, temp files)',
      subjects: [
        {source: 'a.jpg', expect: image('jpeg', size('jpeg').width, size('jpeg').height)},
        {source: 'b.png', expect: image('png', size('png').width, size('png').height)},
      ],
      setup: async (d) => {
        await put(d, 'a.jpg', c.jpeg)
        await put(d, 'b.png', c.png)
        // Killed while placing the images: a lock of a dead pid, a journal, temp files.
        for (let n = 20; n < 40; n++) {
          const r = await lora(['init', '.'], {cwd: d, env: {LORA_FAILPOINT: String(n)}})
          if (r.signal !== 'SIGKILL') throw new Error(`the killed init was not killed at ${n}: ${r.code} ${r.stderr}`)
          if (
            fs.existsSync(join(d, '.lora-tagger', 'journal.json')) &&
            fs.readdirSync(join(d, 'output')).some((f) => f.includes('.lora-tmp-'))
          )
            break
          await fsp.rm(join(d, '.lora-tagger'), {recursive: true, force: true})
          await fsp.rm(join(d, 'output'), {recursive: true, force: true})
        }
        if (!fs.existsSync(join(d, '.lora-tagger', 'lock'))) throw new Error('no stale lock was left')
      },
    },
    {
      name: 'a stale .lora-tagger/ holding only a dead lock and a temp file',
      subjects: one('a.jpg', image('jpeg', size('jpeg').width, size('jpeg').height)),
      setup: async (d) => {
        await put(d, 'a.jpg', c.jpeg)
        await fsp.mkdir(join(d, '.lora-tagger'))
        await put(
          join(d, '.lora-tagger'),
          'lock',
          JSON.stringify({
            pid: 2 ** 22 + 17,
            host: (await import('node:os')).hostname(),
            command: 'lora init',
            since: '2020-01-01T00:00:00.000Z',
          }) + '\n',
        )
        await put(join(d, '.lora-tagger'), `.lora-tmp-${2 ** 22 + 17}-deadbeef-state.json`, '{"torn')
      },
    },
  )
  return list
}

// ---------------------------------------------------------------------------------------------------------------

/** Runs `lora init . --json` in `dir`, killing it (and reporting a hang) after HANG_MS. */
async function initJson(dir: string, args: string[] = []): Promise<RunResult & {hung: boolean}> {
  for (let attempt = 0; ; attempt++) {
    const {child, done} = spawnLora(['init', '.', '--json', ...args], dir)
    let hung = false
    const timer = setTimeout(() => {
      hung = true
      child.kill('SIGKILL')
    }, HANG_MS)
    const r = await done
    clearTimeout(timer)
    // dist/ rebuilt by someone else at that moment: nothing ran; retry.
    if (!hung && r.code !== 0 && /ModuleLoadError|Cannot find module '[^']*\/dist\//u.test(r.stderr) && attempt < 10)
      continue
    return {...r, hung}
  }
}

/** Every entry below `dir` (output/ and .lora-tagger/ left out) by raw name bytes: type, mode, target or sha256. */
function originals(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: Buffer, rel: string) => {
    for (const name of fs.readdirSync(d, {encoding: 'buffer'})) {
      const key = rel + name.toString('hex')
      if (rel === '' && ['output', '.lora-tagger'].includes(name.toString())) continue
      const abs = Buffer.concat([d, Buffer.from('/'), name])
      const st = fs.lstatSync(abs)
      const mode = (st.mode & 0o7777).toString(8)
      if (st.isSymbolicLink()) out[key] = `symlink ${fs.readlinkSync(abs, {encoding: 'buffer'}).toString('hex')}`
      else if (st.isFIFO()) out[key] = `fifo ${mode}`
      else if (st.isDirectory()) {
        out[key] = `dir ${mode}`
        walk(abs, key + '/')
      } else out[key] = `file ${mode} ${st.size} ${createHash('sha256').update(fs.readFileSync(abs)).digest('hex')}`
    }
  }
  walk(Buffer.from(dir), '')
  return out
}

/**
 * Violations of one subject's expectation, read from state.json (which also records what an earlier, killed run
 * imported) and the run's report.
 */
function subjectProblems(state: InitReport, dir: string, subject: Case['subjects'][number]): string[] {
  const {source, expect: e} = subject
  const added = state.images.find((a) => a.source === source)
  const listed = state.problems.find((p) => p.source === source)
  const dup = state.duplicates.find((d) => d.source === source)
  const where = JSON.stringify(source)
  const asImage = (format: string, width: number, height: number): string[] => {
    const out: string[] = []
    const record = added!
    if (record.format !== format) out.push(`${where} imported as ${record.format}, expected ${format}`)
    if (record.width !== width || record.height !== height)
      out.push(`${where} imported as ${record.width}×${record.height}, expected ${width}×${height} (upright)`)
    const ext = record.file.slice(record.file.lastIndexOf('.') + 1)
    if (ext !== ext.toLowerCase()) out.push(`${where}: output name ${record.file} keeps an upper-case extension`)
    const outSha = createHash('sha256')
      .update(fs.readFileSync(join(dir, 'output', record.file)))
      .digest('hex')
    if (outSha !== record.sha256) out.push(`${where}: output file bytes differ from state.json`)
    return out
  }
  switch (e.kind) {
    case 'image':
      if (!added)
        return [
          `${where} not imported (${listed ? `listed as a problem: ${listed.reason}` : dup ? 'reported as a duplicate' : 'not reported at all'})`,
        ]
      return asImage(e.format, e.width, e.height)
    case 'problem':
      if (added) return [`${where} imported, expected it listed as a problem`]
      if (!listed)
        return [
          `${where} ${dup ? 'reported as a duplicate' : 'neither imported nor listed as a problem: skipped without a word'}`,
        ]
      if (!listed.reason.trim()) return [`${where} listed without a reason`]
      if (e.reason && !e.reason.test(listed.reason)) return [`${where} listed with an unclear reason: ${listed.reason}`]
      return []
    case 'image-or-problem':
      if (added) return asImage(e.format, e.width, e.height)
      if (listed) return listed.reason.trim() ? [] : [`${where} listed without a reason`]
      return [`${where} neither imported nor listed as a problem: skipped without a word`]
    case 'ignored-or-problem':
      return added ? [`${where} imported`] : []
    case 'duplicate':
      return dup ? [] : [`${where} not reported as a duplicate`]
  }
}

/** state.json, the parts checked here. */
interface InitReport {
  images: {id: string; source: string; file: string; format: string; width: number; height: number; sha256: string}[]
  problems: {source: string; reason: string}[]
  duplicates: {source: string; of: string}[]
}

/** Runs one case; returns its violations. */
async function runCase(c: Case): Promise<string[]> {
  const root = await tempDir('lora-rel-hostile-')
  const dir = join(root, 'imgs')
  const outside = join(root, 'outside')
  await fsp.mkdir(dir)
  await fsp.mkdir(outside)
  await c.setup(dir, outside)
  const before = {dir: originals(dir), outside: originals(outside)}
  const violations: string[] = []
  if (c.run) {
    violations.push(...(await c.run(dir)))
  } else {
    const r = await initJson(dir)
    if (r.hung) violations.push(`\`lora init\` hung (killed after ${HANG_MS / 1000} s)`)
    else if (r.code !== 0) violations.push(`\`lora init\` exited ${r.code}: ${r.stderr.trim()}`)
    else {
      JSON.parse(r.stdout)
      const state = JSON.parse(fs.readFileSync(join(dir, '.lora-tagger', 'state.json'), 'utf8')) as InitReport
      for (const s of c.subjects) violations.push(...subjectProblems(state, dir, s))
      violations.push(...(await restingProblems(dir)))
    }
  }
  const after = {dir: originals(dir), outside: originals(outside)}
  for (const where of ['dir', 'outside'] as const) {
    const keys = new Set([...Object.keys(before[where]), ...Object.keys(after[where])])
    for (const k of keys) {
      if (before[where][k] !== after[where][k])
        violations.push(
          `original ${where === 'outside' ? 'outside/' : ''}${JSON.stringify(Buffer.from(k.split('/').pop()!, 'hex').toString())} changed: ${before[where][k] ?? 'absent'} → ${after[where][k] ?? 'absent'}`,
        )
    }
  }
  for (const f of fs.readdirSync(dir))
    if (!['output', '.lora-tagger'].includes(f)) await fsp.chmod(join(dir, f), 0o644).catch(() => undefined)
  return violations.map((v) => `${c.name}: ${v}`)
}

// The cases are made from the real photos (../shared/data): skipped, and reported so, without them.
itShared(
  'every hostile or odd input is imported correctly or refused with a reason, and no original changes',
  async () => {
    const all = cases()
    expect(all.length).toBeGreaterThanOrEqual(40)
    const results = await pool(all, CONCURRENCY, runCase)
    const violations = results.flat()
    figures('hostile inputs to lora init', {
      cases: all.length,
      'subject files': all.reduce((n, c) => n + c.subjects.length, 0),
      'cases failing': results.filter((r) => r.length > 0).length,
      violations: violations.length,
    })
    expect(violations).toEqual([])
  },
  300_000,
)

itShared(
  '`--verify` lists the truncated JPEG and PNG as problems, and changes no original',
  async () => {
    const dir = join(await tempDir('lora-rel-verify-'), 'imgs')
    await fsp.mkdir(dir)
    await put(dir, 'half.jpg', cache.jpeg.subarray(0, cache.jpeg.length >> 1))
    await put(dir, 'half.png', cache.png.subarray(0, cache.png.length >> 1))
    await put(dir, 'whole.jpg', cache.jpeg)
    const before = originals(dir)
    const r = await initJson(dir, ['--verify'])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as {added: {source: string}[]; problems: {source: string}[]}
    expect(report.added.map((a) => a.source)).toEqual(['whole.jpg'])
    expect(report.problems.map((p) => p.source).sort()).toEqual(['half.jpg', 'half.png'])
    expect(originals(dir)).toEqual(before)
  },
  60_000,
)

// As root, chmod 000 does not stop reads (the case above imports such a file); lora runs as `nobody` instead, which
// needs setpriv and the right to switch users (probed once, when the tests are collected).
const asNobody = hasShared
  ? sh('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', '0'])
  : undefined
const unreadableMissing = !hasShared
  ? SHARED_MISSING
  : asNobody!.ok
    ? undefined
    : `cannot run lora as another user (setpriv: ${asNobody!.out}); as root chmod 000 does not stop reads`

itIf(
  unreadableMissing,
  'an unreadable file (for a non-root user) is listed as unreadable, and the rest imported',
  async () => {
    const root = await tempDir('lora-rel-unreadable-')
    await fsp.chmod(root, 0o755)
    const dir = join(root, 'imgs')
    await fsp.mkdir(dir)
    await put(dir, 'ok.jpg', cache.jpeg)
    await put(dir, 'secret.jpg', cache.jpeg2)
    fs.chownSync(dir, 65534, 65534)
    fs.chownSync(join(dir, 'ok.jpg'), 65534, 65534)
    await fsp.chmod(join(dir, 'secret.jpg'), 0o000)
    const before = originals(dir)
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cliBin(), 'init', '.', '--json'],
      {cwd: dir, env: {...cleanEnv(), HOME: '/tmp'}, encoding: 'utf8', timeout: HANG_MS},
    )
    expect({status: r.status, stderr: r.stderr}).toEqual({status: 0, stderr: expect.any(String)})
    const report = JSON.parse(r.stdout) as {added: {source: string}[]; problems: {source: string; reason: string}[]}
    expect(report.added.map((a) => a.source)).toEqual(['ok.jpg'])
    expect(report.problems).toEqual([
      {source: 'secret.jpg', reason: expect.stringMatching(/unreadable|permission|EACCES/iu)},
    ])
    expect(originals(dir)).toEqual(before)
  },
  60_000,
)
