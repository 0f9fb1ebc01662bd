/**
 * Files changed behind lora's back (issue 12 rule 9) and a state that can be rebuilt (rule 10); README "Safety
 * model". An output image deleted, replaced, rewritten in place, or turned into a FIFO or a symbolic link by hand
 * is listed by `status` (JSON `missing`, `changed`), passed over by `next --print` with a warning, reported by a
 * rerun of `init` (never re-imported), refused by `export` (exit 1, every format; `--skip-missing` goes on without
 * them) and never exported as a 0-byte file; `status --rescan` takes a changed image in. state.json missing: every
 * hint points to `lora repair`, which rebuilds it. Run in-process (test/in-process.ts) on real datasets made by
 * `lora init` from the fixture photos. Needs `npm run build`.
 */
import {execFileSync} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import sharp from 'sharp'
import {loraIn, loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, readState, removeTemp, sha256} from '../helpers.js'
import {listFiles} from '../e2e/e2e-helpers.js'
import {runTaggingSession} from '../../src/services/tagging-session.js'
import {openDataset} from '../../src/store/dataset.js'

const IMAGES = [
  'plasma-Autumn-screenshot.jpg',
  'plasma-Kite-screenshot.jpg',
  'plasma-Path-screenshot.jpg',
  'skimage-horse.png',
]

/**
 * sha256 of every regular file below `dir` (caches left out); a symbolic link or FIFO is recorded as its kind and
 * never opened (reading the FIFO would block).
 */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const snap: Record<string, string> = {}
  for (const f of await listFiles(dir)) {
    if (f.includes('.lora-tagger/cache/')) continue
    const st = await fsp.lstat(join(dir, f))
    snap[f] = st.isFile()
      ? await sha256(join(dir, f))
      : st.isSymbolicLink()
        ? `link ${await fsp.readlink(join(dir, f))}`
        : 'not a regular file'
  }
  return snap
}

const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

/** A dataset made by `lora init` (with `mode`), every image tagged; returns its folder. */
async function dataset(mode = '--copy'): Promise<string> {
  const tmp = await makeTemp('lora-changed-')
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  await loraInOk(['init', '.', mode], {cwd: root})
  await loraInOk(['tag', '--all', '--add', 'sky'], {cwd: root})
  return root
}

interface Status {
  missing: string[]
  changed: string[]
  next: {id: string} | null
  rescanned: string[] | null
  images: {total: number; tagged: number; skipped: number; pending: number}
}

async function status(root: string, ...args: string[]): Promise<Status> {
  return JSON.parse((await loraInOk(['status', '--json', ...args], {cwd: root})).stdout) as Status
}

describe('an output image deleted, turned into a FIFO or a symbolic link, or replaced', () => {
  let root: string
  let outside: string
  beforeAll(async () => {
    root = await dataset()
    outside = join(root, '..', 'secret.bin')
    await fsp.writeFile(outside, 'not an image')
    await fsp.rm(join(root, 'output', 'img_0001.jpg'))
    await fsp.rm(join(root, 'output', 'img_0002.jpg'))
    execFileSync('mkfifo', [join(root, 'output', 'img_0002.jpg')])
    await fsp.rm(join(root, 'output', 'img_0003.jpg'))
    await fsp.symlink('/dev/zero', join(root, 'output', 'img_0003.jpg'))
    // Replaced by another image of another size.
    await sharp({create: {width: 40, height: 30, channels: 3, background: '#808080'}})
      .png()
      .toFile(join(root, 'output', 'img_0004.png.new'))
    await fsp.rename(join(root, 'output', 'img_0004.png.new'), join(root, 'output', 'img_0004.png'))
  })

  it('status lists them (human and JSON)', async () => {
    const report = await status(root)
    expect(report.missing).toEqual(['img_0001', 'img_0002', 'img_0003'])
    expect(report.changed).toEqual(['img_0004'])
    const human = await loraIn(['status'], {cwd: root})
    expect(human.code).toBe(0)
    expect(human.stdout).toContain(
      `Missing images: 3 (gone from ${join(root, 'output')}, or no longer a regular file): img_0001, img_0002, img_0003\n`,
    )
    expect(human.stdout).toContain('Changed images: 1 (bytes differ from the state): img_0004\n')
  })

  it.each([
    ['folder', '../exp'],
    ['csv', '../exp.csv'],
    ['json', '-'],
  ])('export --format %s refuses with the list, exit 1, writing nothing', async (format, dest) => {
    const before = await snapshot(join(root, '..'))
    const result = await loraIn(['export', dest, '--format', format], {cwd: root})
    expect(result.stderr.split('\n')[0]).toBe(
      `error: 4 images in output/ are missing or changed since lora recorded them: img_0001 (missing: gone), img_0002 (missing: a FIFO now, not the image), img_0003 (missing: a symbolic link now, not the image), img_0004 (changed: size ${(await fsp.stat(join(root, 'skimage-horse.png'))).size} → ` +
        `${(await fsp.stat(join(root, 'output', 'img_0004.png'))).size} bytes). Nothing was exported.`,
    )
    expect(result.stderr).toContain(
      'hint: Restore them (git checkout, or copy the original back under the same name); for a change you meant, `lora status --rescan` takes it in; or add --skip-missing to export the others.',
    )
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(await snapshot(join(root, '..'))).toEqual(before)
  })

  it('export --skip-missing goes on without them, says which, and exports no 0-byte file', async () => {
    await fsp.writeFile(join(root, 'output', 'img_0004.png'), await fsp.readFile(join(root, 'skimage-horse.png')))
    const result = await loraIn(['export', '../exp', '--skip-missing', '--json'], {cwd: root})
    expect(result.code).toBe(0)
    expect(result.stderr).toContain(
      'warning: Left out 3 images missing or changed in the output folder: img_0001 (missing: gone), img_0002 (missing: a FIFO now, not the image), img_0003 (missing: a symbolic link now, not the image).',
    )
    expect((JSON.parse(result.stdout) as {count: number}).count).toBe(1)
    expect((await fsp.readdir(join(root, '..', 'exp'))).sort()).toEqual(['img_0004.png', 'img_0004.txt'])
    expect(await sha256(join(root, '..', 'exp', 'img_0004.png'))).toBe(await sha256(join(root, 'skimage-horse.png')))
  })

  it('a rerun of init reports them and imports nothing again', async () => {
    const before = await snapshot(root)
    const result = await loraIn(['init', '.', '--json'], {cwd: root})
    expect(result.code).toBe(0)
    const summary = JSON.parse(result.stdout) as {added: unknown[]; missing: string[]}
    expect(summary.added).toEqual([])
    expect(summary.missing).toEqual(['img_0001', 'img_0002', 'img_0003'])
    const human = await loraIn(['init', '.'], {cwd: root})
    expect(human.stderr).toContain(
      'warning: 3 images imported earlier are missing from the output folder (not imported again): img_0001, img_0002, img_0003. Restore them; `lora status` lists them.',
    )
    expect(await snapshot(root)).toEqual(before)
  })
})

describe('next passes over a missing pending image with a warning', () => {
  it('next --print names the next image whose file is there', async () => {
    const root = await dataset()
    await loraInOk(['tag', '1', '2', '--clear'], {cwd: root})
    await fsp.rm(join(root, 'output', 'img_0001.jpg'))
    const result = await loraIn(['next', '--print'], {cwd: root})
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(`img_0002\t${join(root, 'output', 'img_0002.jpg')}\n`)
    expect(result.stderr).toBe(
      'warning: Passed over 1 pending image whose file is missing: img_0001 (gone). `lora status` lists it.\n',
    )
    expect((await status(root)).next).toEqual({id: 'img_0002', path: join(root, 'output', 'img_0002.jpg')})
  })
})

describe('lora next (the session) passes over a missing pending image with a warning', () => {
  it('presents the next image whose file is there, and tells the UI which it passed over', async () => {
    const root = await dataset()
    await loraInOk(['tag', '1', '2', '--clear'], {cwd: root})
    await fsp.rm(join(root, 'output', 'img_0001.jpg'))
    const warned: unknown[] = []
    const presented: string[] = []
    const ui = {
      skippedMissing: (skipped: readonly {id: string; reason: string}[]) => warned.push(...skipped),
      present: async (item: {image: {id: string}}) => {
        presented.push(item.image.id)
      },
      ask: async () => ({action: 'save' as const, tags: ['tree']}),
      saved: () => {},
    }
    const report = await runTaggingSession(await openDataset(root), ui, {loop: false})
    expect(warned).toEqual([{id: 'img_0001', reason: 'gone'}])
    expect(presented).toEqual(['img_0002'])
    expect(report.handled.map((h) => h.id)).toEqual(['img_0002'])
  })
})

describe('an image rewritten in place', () => {
  it('is found by status --check (mtime recorded by --link), and status --rescan takes it in', async () => {
    const root = await dataset('--link')
    const file = join(root, 'output', 'img_0004.png')
    expect((await status(root)).changed).toEqual([])
    // Same size, other bytes, written in place (same inode): the folder's stamp does not change.
    const bytes = await fsp.readFile(file)
    bytes[bytes.length - 5] ^= 0xff
    const handle = await fsp.open(file, 'r+')
    await handle.write(bytes, 0, bytes.length, 0)
    await handle.close()
    expect((await status(root, '--check')).changed).toEqual(['img_0004'])
    const rescan = await status(root, '--rescan')
    expect(rescan.rescanned).toEqual(['img_0004'])
    expect(rescan.changed).toEqual([])
    const record = (await readState(root)).images[3] as {sha256: string; bytes: number}
    expect(record.sha256).toBe(await sha256(file))
    expect((await status(root, '--check')).changed).toEqual([])
  })

  it('a replaced image of another size is taken in by --rescan with its new dimensions', async () => {
    const root = await dataset()
    await sharp({create: {width: 40, height: 30, channels: 3, background: '#808080'}})
      .png()
      .toFile(join(root, 'output', 'new.png'))
    await fsp.rename(join(root, 'output', 'new.png'), join(root, 'output', 'img_0004.png'))
    expect((await status(root)).changed).toEqual(['img_0004'])
    expect((await status(root, '--rescan')).rescanned).toEqual(['img_0004'])
    const record = (await readState(root)).images[3]
    expect([record.width, record.height, record.sha256]).toEqual([
      40,
      30,
      await sha256(join(root, 'output', 'img_0004.png')),
    ])
    const csv = (await loraInOk(['export', '-', '--format', 'csv'], {cwd: root})).stdout
    expect(csv).toContain(`img_0004.png,sky,sky,40,30,${record.sha256}`)
  })
})

describe('state.json missing or unreadable: lora repair', () => {
  it.each([
    [
      'missing',
      async (p: string) => fsp.rm(p),
      '.lora-tagger/state.json is missing',
      'Run `lora repair` to rebuild it from the output folder and the captions',
    ],
    [
      'not JSON',
      async (p: string) => fsp.writeFile(p, '{"version": 1, "ima'),
      '.lora-tagger/state.json is not valid JSON',
      'lora repair',
    ],
  ])(
    'state.json %s: every command says to run lora repair; repair rebuilds it and status matches',
    async (_what, damage, error, hint) => {
      const root = await dataset()
      await loraInOk(['tag', '2', '--clear'], {cwd: root})
      await loraInOk(['tag', '3', '--skip'], {cwd: root})
      const before = await status(root)
      const stateBefore = await readState(root)
      const originals = await snapshot(root).then((s) =>
        Object.fromEntries(
          Object.entries(s).filter(([k]) => !k.startsWith('output/') && !k.startsWith('.lora-tagger/')),
        ),
      )
      await damage(join(root, '.lora-tagger', 'state.json'))
      for (const args of [
        ['status'],
        ['next', '--print'],
        ['tag', '1', '--add', 'x'],
        ['export', '../e'],
        ['init', '.'],
      ]) {
        const result = await loraIn(args, {cwd: root})
        expect(result.stderr.split('\n')[0]).toContain(`error: ${error}`)
        expect(result.stderr).toContain(hint)
        expect(result.code).toBe(1)
      }
      const repaired = await loraIn(['repair', '--json'], {cwd: root})
      expect(repaired.code).toBe(0)
      const report = JSON.parse(repaired.stdout) as {
        repaired: boolean
        images: Status['images']
        notRecovered: string[]
        problems: unknown[]
      }
      expect(report.repaired).toBe(true)
      expect(report.problems).toEqual([])
      expect(report.notRecovered[0]).toBe('which images were skipped (each is tagged or pending again, by its caption)')
      const after = await status(root)
      // Everything but the skipped image's status comes back (it keeps its caption, so it is tagged now).
      expect(after.images).toEqual({...before.images, skipped: 0, tagged: before.images.tagged + 1})
      expect(after.missing).toEqual([])
      expect(after.changed).toEqual([])
      const state = await readState(root)
      expect(state.images.map((i) => [i.id, i.file, i.sha256, i.tags, i.width, i.height])).toEqual(
        stateBefore.images.map((i) => [i.id, i.file, i.sha256, i.tags, i.width, i.height]),
      )
      expect(state.images.map((i) => i.status)).toEqual(['tagged', 'pending', 'tagged', 'tagged'])
      // The originals were not touched; the next command works again.
      const now = await snapshot(root)
      for (const [path, hash] of Object.entries(originals)) expect(now[path]).toBe(hash)
      await loraInOk(['tag', '2', '--add', 'tree'], {cwd: root})
      expect((await loraInOk(['repair'], {cwd: root})).stderr).toBe(
        '.lora-tagger/state.json is readable (4 images); nothing to repair.\n',
      )
    },
  )

  it('an image deleted before the state was lost: repair names its caption, left behind, among the problems', async () => {
    const root = await dataset()
    await loraInOk(['tag', '2', '--add', 'tree'], {cwd: root})
    const image = (await readState(root)).images[1].file
    await fsp.rm(join(root, 'output', image))
    await fsp.rm(join(root, '.lora-tagger', 'state.json'))
    const report = JSON.parse((await loraInOk(['repair', '--json'], {cwd: root})).stdout) as {
      problems: {source: string; reason: string}[]
    }
    expect(report.problems).toEqual([
      {
        source: `output/${image.replace(/\.\w+$/u, '.txt')}`,
        reason: 'a caption with no image of its name beside it (was the image deleted?); left as it is',
      },
    ])
    await fsp.access(join(root, 'output', image.replace(/\.\w+$/u, '.txt')))
  })
})
