/**
 * Containment (issue 12 rules 1 and 3; README "Safety model"): a dataset from anywhere cannot make lora act outside
 * it, and exports write only inside their destination.
 * - Rule 1: state.json records, journal ops and the output folder that point outside the dataset (by `..` or
 *   through a symbolic link) are refused when the file is loaded, naming the file and the record; captions (and
 *   lora's other files) that are symbolic links, FIFOs, links to /dev/zero or folders are never read, written or
 *   deleted through, and no command blocks on them; `init` lists such a caption beside an original as a problem.
 * - Rule 3: an export whose destination is or lies inside the dataset folder, its output folder or `.lora-tagger/`
 *   (also through a symbolic link), or `-` with the folder format, is refused with exit 2 and writes nothing;
 *   `--force` replaces only regular files it would write.
 * Each case asserts the exit code, the message, and that every original and every file outside the dataset is
 * byte-identical afterwards (a snapshot that never follows links or opens FIFOs). Command behaviour runs
 * in-process (loraIn); cases where a process could hang (FIFOs, /dev/zero) spawn the built CLI with a deadline.
 * Needs `npm run build`.
 */
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import * as fsp from 'node:fs/promises'
import {join, relative} from 'node:path'
import {FIXTURES} from '../helpers.js'
import {loraIn} from '../in-process.js'
import {cleanup, killChildren, spawnLora, tempDir, type RunResult} from './reliability-helpers.js'

afterAll(cleanup)

const PHOTOS = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'skimage-horse.png']
const SECRET = 'hunter2, top secret\n'
/** A deadline for a command that must not block (a FIFO, /dev/zero): far above its normal run time. */
const PROMPT_MS = 20_000

interface World {
  /** Holds the dataset and the victim folder. */
  world: string
  /** The dataset folder (originals at its top). */
  root: string
  /** Files outside the dataset: a secret and an image. */
  victim: string
}

/** A world with a dataset of three photos (the first two tagged), and a victim folder beside it. */
async function makeWorld(initArgs: string[] = []): Promise<World> {
  const world = await tempDir('lora-contain-')
  const root = join(world, 'dataset')
  const victim = join(world, 'victim')
  await fsp.mkdir(root)
  await fsp.mkdir(victim)
  for (const p of PHOTOS) await fsp.copyFile(join(FIXTURES, p), join(root, p))
  await fsp.writeFile(join(victim, 'secret.txt'), SECRET)
  await fsp.copyFile(join(FIXTURES, 'skimage-page.png'), join(victim, 'notes.png'))
  await ok(['init', '.', '--trigger', 'ohwx', ...initArgs], root)
  await ok(['tag', '1', '2', '--add', 'autumn'], root)
  return {world, root, victim}
}

async function ok(args: string[], cwd: string): Promise<RunResult> {
  const r = await loraIn(args, {cwd})
  if (r.code !== 0) throw new Error(`lora ${args.join(' ')} exited ${r.code}\n${r.stderr}`)
  return r
}

/**
 * Every entry below `dir` except the dataset's own folders (output/, .lora-tagger/) and `skip`: files by sha256,
 * links by their target, FIFOs and folders by kind. Never follows a link, never opens anything but a regular file.
 */
async function guarded(dir: string, skip: readonly string[] = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  async function walk(d: string): Promise<void> {
    for (const entry of await fsp.readdir(d, {withFileTypes: true})) {
      const abs = join(d, entry.name)
      const rel = relative(dir, abs)
      if (/(^|\/)dataset\/(output|\.lora-tagger)$/u.test(rel) || skip.includes(rel)) continue
      if (entry.isSymbolicLink()) out[rel] = `link → ${await fsp.readlink(abs)}`
      else if (entry.isDirectory()) {
        out[rel] = 'dir'
        await walk(abs)
      } else if (entry.isFile())
        out[rel] = createHash('sha256')
          .update(await fsp.readFile(abs))
          .digest('hex')
      else out[rel] = 'special'
    }
  }
  await walk(dir)
  return out
}

/** sha256 of every regular file in a folder (links and FIFOs by kind), for the dataset's output folder. */
async function folderShas(dir: string): Promise<Record<string, string>> {
  return guarded(dir)
}

async function readState(
  root: string,
): Promise<{images: {id: string; file: string; source: string; tags: string[]}[]}> {
  return JSON.parse(await fsp.readFile(join(root, '.lora-tagger', 'state.json'), 'utf8')) as {
    images: {id: string; file: string; source: string; tags: string[]}[]
  }
}

async function writeState(root: string, edit: (state: {images: Record<string, unknown>[]}) => void): Promise<void> {
  const path = join(root, '.lora-tagger', 'state.json')
  const state = JSON.parse(await fsp.readFile(path, 'utf8')) as {images: Record<string, unknown>[]}
  edit(state)
  await fsp.writeFile(path, JSON.stringify(state, null, 2))
}

/** Runs the built CLI; fails the test if it has not ended within PROMPT_MS (it blocked). */
async function prompt(args: string[], cwd: string): Promise<RunResult & {ms: number}> {
  const started = Date.now()
  const {child, done} = spawnLora(args, cwd)
  const timer = setTimeout(() => child.kill('SIGKILL'), PROMPT_MS)
  const result = await done
  clearTimeout(timer)
  const ms = Date.now() - started
  if (result.signal === 'SIGKILL')
    throw new Error(`lora ${args.join(' ')} did not end within ${PROMPT_MS} ms (it blocked)`)
  return {...result, ms}
}

async function lockReleased(root: string): Promise<boolean> {
  const names = await fsp.readdir(join(root, '.lora-tagger'))
  return !names.includes('lock')
}

afterEach(() => killChildren())

describe('rule 3: exports write only inside their destination', () => {
  it('export L --force, L a symbolic link to the output folder after init --move: exit 2, nothing written or deleted', async () => {
    const w = await makeWorld(['--move'])
    const link = join(w.world, 'L')
    await fsp.symlink(join(w.root, 'output'), link)
    const output = await folderShas(join(w.root, 'output'))
    const outside = await guarded(w.world)
    const r = await loraIn(['export', link, '--force'], {cwd: w.root})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(
      `error: The export destination ${link} (it resolves to ${join(w.root, 'output')}) is the dataset's output folder`,
    )
    expect(r.stderr).toContain('nothing was written')
    expect(await folderShas(join(w.root, 'output'))).toEqual(output)
    expect(await guarded(w.world)).toEqual(outside)
  })

  it('export <the dataset folder> --force: exit 2, the originals untouched', async () => {
    const w = await makeWorld()
    const outside = await guarded(w.world)
    const output = await folderShas(join(w.root, 'output'))
    for (const dest of [w.root, '.']) {
      const r = await loraIn(['export', dest, '--force'], {cwd: w.root})
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(`is the dataset folder (${w.root})`)
    }
    expect(await guarded(w.world)).toEqual(outside)
    expect(await folderShas(join(w.root, 'output'))).toEqual(output)
  })

  it('export .lora-tagger/state.json --format json --force: exit 2, the state unchanged', async () => {
    const w = await makeWorld()
    const state = await fsp.readFile(join(w.root, '.lora-tagger', 'state.json'))
    const r = await loraIn(['export', '.lora-tagger/state.json', '--format', 'json', '--force'], {cwd: w.root})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`is inside the dataset's .lora-tagger/ folder (${join(w.root, '.lora-tagger')})`)
    expect(await fsp.readFile(join(w.root, '.lora-tagger', 'state.json'))).toEqual(state)
    expect((await ok(['status', '--json'], w.root)).stdout).toContain('"tagged": 2')
  })

  it('a file destination anywhere inside the dataset (a new file, a subfolder, the output folder) is refused', async () => {
    const w = await makeWorld()
    const outside = await guarded(w.world)
    for (const [dest, place] of [
      ['captions.csv', 'the dataset folder'],
      ['sub/captions.jsonl', 'the dataset folder'],
      ['output/tags.txt', "the dataset's output folder"],
    ]) {
      const r = await loraIn(['export', dest, '--format', dest.endsWith('.jsonl') ? 'jsonl' : 'csv', '--force'], {
        cwd: w.root,
      })
      expect({dest, code: r.code}).toEqual({dest, code: 2})
      expect(r.stderr).toContain(`is inside ${place}`)
    }
    expect(await guarded(w.world)).toEqual(outside)
    await expect(fsp.stat(join(w.root, 'sub'))).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('a destination reached through a symbolic link into the dataset is refused (folder and file formats)', async () => {
    const w = await makeWorld()
    await fsp.symlink(w.root, join(w.world, 'to-dataset'))
    await fsp.symlink(join(w.root, '.lora-tagger', 'state.json'), join(w.world, 'state-link.json'))
    const outside = await guarded(w.world)
    const state = await fsp.readFile(join(w.root, '.lora-tagger', 'state.json'))
    const viaFolder = await loraIn(['export', join(w.world, 'to-dataset', 'train'), '--force'], {cwd: w.world})
    expect(viaFolder.code).toBe(2)
    expect(viaFolder.stderr).toContain(`(it resolves to ${join(w.root, 'train')}) is inside the dataset folder`)
    const viaFile = await loraIn(
      ['export', join(w.world, 'state-link.json'), '-C', w.root, '--format', 'json', '--force'],
      {cwd: w.world},
    )
    expect(viaFile.code).toBe(2)
    expect(viaFile.stderr).toContain("is inside the dataset's .lora-tagger/ folder")
    expect(await fsp.readFile(join(w.root, '.lora-tagger', 'state.json'))).toEqual(state)
    expect(await guarded(w.world)).toEqual(outside)
  })

  it('"-" with the folder format is a usage error, and writes no folder named "-"', async () => {
    const w = await makeWorld()
    const r = await loraIn(['export', '-', '--format', 'folder'], {cwd: w.world + '/dataset'})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('error: `-` writes to stdout, so it needs a file format (csv, tsv, json or jsonl)')
    await expect(fsp.lstat(join(w.root, '-'))).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('--force replaces only regular files: a caption name that is a link to a secret, or a folder, is refused before any write', async () => {
    const w = await makeWorld()
    const dest = join(w.world, 'train')
    await fsp.mkdir(dest)
    await fsp.writeFile(join(dest, 'mine.txt'), 'keep me\n')
    await fsp.symlink(join(w.victim, 'secret.txt'), join(dest, 'img_0002.txt'))
    const outside = await guarded(w.world)
    const r = await loraIn(['export', dest, '--force'], {cwd: w.root})
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(
      `error: ${join(dest, 'img_0002.txt')} is a symbolic link, not a regular file; an export replaces only regular files it would write, so nothing was written.`,
    )
    expect(await guarded(w.world)).toEqual(outside)
    expect(await fsp.readFile(join(w.victim, 'secret.txt'), 'utf8')).toBe(SECRET)

    await fsp.unlink(join(dest, 'img_0002.txt'))
    await fsp.mkdir(join(dest, 'img_0001.jpg'))
    const folder = await loraIn(['export', dest, '--force'], {cwd: w.root})
    expect(folder.code).toBe(1)
    expect(folder.stderr).toContain(`${join(dest, 'img_0001.jpg')} is a folder, not a regular file`)
    expect(await fsp.readdir(dest)).toEqual(['img_0001.jpg', 'mine.txt'])
  })

  it('a kohya subfolder that is a link to elsewhere is refused (exports write only inside their destination)', async () => {
    const w = await makeWorld()
    const dest = join(w.world, 'train')
    await fsp.mkdir(dest)
    await fsp.symlink(w.victim, join(dest, '10_ohwx woman'))
    const outside = await guarded(w.world)
    const r = await loraIn(['export', dest, '--repeats', '10', '--class', 'woman', '--force'], {cwd: w.root})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`leads to ${w.victim}, outside the export destination`)
    expect(await guarded(w.world)).toEqual(outside)
  })

  it('a file destination that is a link (to a file outside) is refused, not written through', async () => {
    const w = await makeWorld()
    await fsp.symlink(join(w.victim, 'secret.txt'), join(w.world, 'out.csv'))
    const outside = await guarded(w.world)
    const r = await loraIn(['export', join(w.world, 'out.csv'), '--format', 'csv', '--force'], {cwd: w.root})
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${join(w.world, 'out.csv')} is a symbolic link, not a regular file`)
    expect(await guarded(w.world)).toEqual(outside)
  })

  it('an output image replaced by a link (to a secret, to /dev/zero) or a FIFO is never copied: exit 1 naming it, nothing written', async () => {
    const w = await makeWorld()
    const image = join(w.root, 'output', 'img_0002.jpg')
    const dest = join(w.world, 'train')
    for (const [make, kind] of [
      [async () => fsp.symlink(join(w.victim, 'secret.txt'), image), 'a symbolic link'],
      [async () => fsp.symlink('/dev/zero', image), 'a symbolic link'],
      [async () => execFileSync('mkfifo', [image]), 'a FIFO (named pipe)'],
    ] as const) {
      await fsp.rm(image, {force: true})
      await make()
      const r = await prompt(['export', dest], w.root)
      expect({kind, code: r.code}).toEqual({kind, code: 1})
      // The export's check of the images against the state (README "Safety model": files changed behind lora's back)
      // finds it first; the write loop's own check (a regular file or nothing) stays behind it.
      expect(r.stderr).toMatch(
        /^error: 1 image in output\/ is missing or changed since lora recorded them: img_0002 \(missing: /u,
      )
      await expect(fsp.stat(join(dest, 'img_0001.jpg'))).rejects.toMatchObject({code: 'ENOENT'})
    }
    expect(await fsp.readFile(join(w.victim, 'secret.txt'), 'utf8')).toBe(SECRET)
  })

  it('an export outside the dataset still works, also through a link to a folder outside', async () => {
    const w = await makeWorld()
    await fsp.mkdir(join(w.world, 'real-train'))
    await fsp.symlink(join(w.world, 'real-train'), join(w.world, 'train-link'))
    const r = await loraIn(['export', join(w.world, 'train-link'), '--json'], {cwd: w.root})
    expect(r.code).toBe(0)
    expect((await fsp.readdir(join(w.world, 'real-train'))).sort()).toEqual([
      'img_0001.jpg',
      'img_0001.txt',
      'img_0002.jpg',
      'img_0002.txt',
    ])
  })
})

describe('rule 1: records that point outside the dataset are refused when loaded', () => {
  it('a state record with file "../../victim/notes.png": tag, export --force and status refuse, naming the file and the record', async () => {
    const w = await makeWorld()
    await writeState(w.root, (s) => {
      s.images[0].file = '../../victim/notes.png'
    })
    const outside = await guarded(w.world)
    const dest = join(w.world, 'train')
    for (const args of [
      ['tag', '1', '--add', 'pwned'],
      ['tag', '--all', '--set', 'x'],
      ['export', dest, '--force'],
      ['export', join(w.world, 'x.csv'), '--format', 'csv', '--force'],
      ['status'],
      ['status', '--json'],
      ['next', '--print'],
      ['tags'],
    ]) {
      const r = await loraIn(args, {cwd: w.root})
      expect({args, code: r.code}).toEqual({args, code: 1})
      expect(r.stderr).toContain(
        'error: .lora-tagger/state.json: image record img_0001 has file "../../victim/notes.png", which holds a path separator: it must name a file in the output folder; nothing was done.',
      )
      expect(r.stderr).toContain('hint: A dataset from elsewhere must not point outside itself.')
    }
    expect(await guarded(w.world)).toEqual(outside)
    await expect(fsp.stat(dest)).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('the same through the binary (status takes the fast path): exit 1, nothing printed on stdout', async () => {
    const w = await makeWorld()
    await writeState(w.root, (s) => {
      s.images[1].file = '/etc/passwd'
    })
    for (const args of [['status'], ['status', '--json'], ['next', '--print']]) {
      const r = await prompt(args, w.root)
      expect({args, code: r.code, stdout: r.stdout}).toEqual({args, code: 1, stdout: ''})
      expect(r.stderr).toContain('image record img_0002 has file "/etc/passwd"')
    }
  })

  it('a state record whose source climbs out, or is absolute, is refused', async () => {
    const w = await makeWorld()
    for (const source of ['../victim/notes.png', '/etc/passwd', 'a/../../b.jpg']) {
      await writeState(w.root, (s) => {
        s.images[2].source = source
      })
      const r = await loraIn(['status'], {cwd: w.root})
      expect({source, code: r.code}).toEqual({source, code: 1})
      expect(r.stderr).toContain(`image record img_0003 has source ${JSON.stringify(source)}`)
    }
  })

  it('init on a dataset whose state points outside refuses before importing anything', async () => {
    const w = await makeWorld()
    await writeState(w.root, (s) => {
      s.images[0].file = '..'
    })
    await fsp.copyFile(join(FIXTURES, 'skimage-palette_color.png'), join(w.root, 'new.png'))
    const outside = await guarded(w.world)
    const output = await folderShas(join(w.root, 'output'))
    const r = await loraIn(['init', '.', '--move'], {cwd: w.root})
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('image record img_0001 has file "..", which is "." or ".."')
    expect(await guarded(w.world)).toEqual(outside)
    expect(await folderShas(join(w.root, 'output'))).toEqual(output)
  })

  it('a journal whose ops point outside (by "..", absolute, or through a linked folder) is not replayed', async () => {
    const w = await makeWorld()
    await fsp.symlink(w.victim, join(w.root, 'innocent'))
    const outside = await guarded(w.world)
    const journal = join(w.root, '.lora-tagger', 'journal.json')
    const cases: [unknown, string][] = [
      [
        {op: 'write', path: '../victim/notes.png', text: 'pwned'},
        'op #1 (write) has path "../victim/notes.png", which climbs out with ".."',
      ],
      [{op: 'create', path: '/tmp/pwned', text: 'x'}, 'op #1 (create) has path "/tmp/pwned", which is absolute'],
      [
        {op: 'place-image', source: '../victim/notes.png', target: 'output/img_0009.png', sha256: 'x', mode: 'move'},
        'op #1 (place-image) has source "../victim/notes.png"',
      ],
      [
        {op: 'write', path: 'innocent/secret.txt', text: 'pwned'},
        'op #1 (write) has path "innocent/secret.txt", whose folder leads outside the dataset folder',
      ],
    ]
    for (const [op, message] of cases) {
      await fsp.writeFile(
        journal,
        JSON.stringify({version: 1, kind: 'tag', createdAt: '2026-01-01T00:00:00Z', ops: [op]}),
      )
      const r = await loraIn(['tag', '1', '--add', 'x'], {cwd: w.root})
      expect({op, code: r.code}).toEqual({op, code: 1})
      expect(r.stderr).toContain(`error: .lora-tagger/journal.json: ${message}`)
      expect(r.stderr).toContain('Remove .lora-tagger/journal.json')
      expect(await lockReleased(w.root)).toBe(true)
    }
    // A journal of the wrong shape is refused by its parser before any path is looked at (store/journal.ts).
    for (const [doc, message] of [
      [
        {version: 1, kind: 'tag', createdAt: '2026-01-01T00:00:00Z', ops: [{op: 'rm', path: 'output/img_0001.jpg'}]},
        'ops[0].op "rm" is not an operation lora knows',
      ],
      [{version: 1, kind: 'tag', ops: 'nope'}, 'is damaged: '],
    ] as const) {
      await fsp.writeFile(journal, JSON.stringify(doc))
      const shape = await loraIn(['tag', '1', '--add', 'x'], {cwd: w.root})
      expect(shape.code).toBe(1)
      expect(shape.stderr).toContain('error: .lora-tagger/journal.json is damaged: ')
      expect(shape.stderr).toContain(message)
      expect(shape.stderr).toContain('lora applies nothing from it')
      expect(await lockReleased(w.root)).toBe(true)
    }
    expect(await guarded(w.world)).toEqual(outside)
  })

  it('a journal placing a symbolic link (to a secret) or a FIFO is not replayed, in any mode: exit 1, nothing placed, no hang', async () => {
    const w = await makeWorld()
    const journal = join(w.root, '.lora-tagger', 'journal.json')
    const evil = join(w.root, 'evil.png')
    for (const kind of ['symlink', 'fifo'] as const) {
      for (const mode of ['copy', 'move', 'link'] as const) {
        await fsp.rm(evil, {force: true})
        if (kind === 'symlink') await fsp.symlink(join(w.victim, 'secret.txt'), evil)
        else execFileSync('mkfifo', [evil])
        const before = await guarded(w.world)
        const op = {op: 'place-image', source: 'evil.png', target: 'output/x.png', sha256: '00', mode}
        await fsp.writeFile(journal, JSON.stringify({version: 1, kind: 'init', createdAt: 'x', ops: [op]}))
        const r = await prompt(['status'], w.root)
        expect({kind, mode, code: r.code}).toEqual({kind, mode, code: 1})
        expect(r.stderr).toContain(
          `error: .lora-tagger/journal.json: op #1 (place-image) has source "evil.png", which is ${kind === 'symlink' ? 'a symbolic link' : 'a FIFO (named pipe)'}, not a regular image file`,
        )
        expect(r.stderr).toContain('Remove .lora-tagger/journal.json')
        await expect(fsp.lstat(join(w.root, 'output', 'x.png'))).rejects.toMatchObject({code: 'ENOENT'})
        expect(await guarded(w.world)).toEqual(before)
        expect(await lockReleased(w.root)).toBe(true)
      }
    }
  })

  it('an output folder that is a link to a folder outside the dataset is refused', async () => {
    const w = await makeWorld()
    await fsp.rename(join(w.root, 'output'), join(w.world, 'moved-output'))
    await fsp.symlink(join(w.world, 'moved-output'), join(w.root, 'output'))
    const outside = await guarded(w.world, ['moved-output'])
    for (const args of [['status'], ['tag', '1', '--add', 'x']]) {
      const r = await loraIn(args, {cwd: w.root})
      expect({args, code: r.code}).toEqual({args, code: 1})
      expect(r.stderr).toContain(
        `error: The output folder "output" leads to ${join(w.world, 'moved-output')} (through a symbolic link), which is not a folder of its own inside the dataset folder`,
      )
    }
    expect(await guarded(w.world, ['moved-output'])).toEqual(outside)
  })
})

describe('rule 12: the output folder of the wrong type', () => {
  it('an output that is a regular file or a FIFO is named, not "unexpected"; nothing is written', async () => {
    const w = await makeWorld()
    await fsp.rm(join(w.root, 'output'), {recursive: true})
    await fsp.writeFile(join(w.root, 'output'), 'not a folder\n')
    const outside = await guarded(w.world)
    for (const args of [
      ['tag', '1', '--add', 'x'],
      ['status', '--rescan'],
      ['export', join(w.world, 'train')],
    ]) {
      const r = await loraIn(args, {cwd: w.root})
      expect({args, code: r.code}).toEqual({args, code: 1})
      expect(r.stderr).toContain(
        'error: The output folder "output" is not a folder but a regular file; nothing was done.',
      )
    }
    await fsp.rm(join(w.root, 'output'))
    execFileSync('mkfifo', [join(w.root, 'output')])
    const fifo = await prompt(['tag', '1', '--add', 'x'], w.root)
    expect(fifo.code).toBe(1)
    expect(fifo.stderr).toContain('is not a folder but a FIFO (named pipe)')
    expect(await guarded(w.world)).toEqual(outside)
  })
})

describe('rule 1: init --out cannot lead out of the dataset', () => {
  it('an --out folder that is a link to a folder outside is refused before anything is created', async () => {
    const world = await tempDir('lora-contain-')
    const root = join(world, 'dataset')
    await fsp.mkdir(join(world, 'elsewhere'), {recursive: true})
    await fsp.mkdir(root)
    await fsp.copyFile(join(FIXTURES, 'skimage-horse.png'), join(root, 'horse.png'))
    await fsp.symlink(join(world, 'elsewhere'), join(root, 'train'))
    const before = await guarded(world)
    const r = await loraIn(['init', '.', '--out', 'train', '--move'], {cwd: root})
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(
      `error: The output folder "train" leads to ${join(world, 'elsewhere')} (through a symbolic link), which is not a folder of its own inside the dataset folder`,
    )
    expect(await guarded(world)).toEqual(before)
    expect(await fsp.readdir(root)).toEqual(['horse.png', 'train'])
  })
})

describe('rule 1: captions that are not regular files are never read, written or deleted through', () => {
  it('a caption that is a link to a secret: its text never shows (tags, exports), tag and --rescan refuse, the secret unchanged', async () => {
    const w = await makeWorld()
    const caption = join(w.root, 'output', 'img_0001.txt')
    await fsp.rm(caption)
    await fsp.symlink(join(w.victim, 'secret.txt'), caption)
    const outside = await guarded(w.world)
    const tags = await loraIn(['tags'], {cwd: w.root})
    expect(tags.code).toBe(0)
    expect(tags.stdout + tags.stderr).not.toContain('hunter2')
    const message =
      'error: output/img_0001.txt is a symbolic link, not a regular caption file; lora does not read or write through it, and nothing was done.'
    for (const args of [
      ['tag', '1', '--add', 'pwned'],
      ['tag', '--all', '--clear'],
      ['tags', 'rename', 'autumn', 'fall'],
      ['status', '--rescan'],
      ['export', join(w.world, 'train')],
      ['export', join(w.world, 'x.csv'), '--format', 'csv'],
      ['export', '-', '--format', 'csv'],
    ]) {
      const r = await loraIn(args, {cwd: w.root})
      expect({args, code: r.code}).toEqual({args, code: 1})
      expect(r.stderr).toContain(message)
      expect(r.stdout + r.stderr).not.toContain('hunter2')
    }
    expect(await fsp.readFile(join(w.victim, 'secret.txt'), 'utf8')).toBe(SECRET)
    expect((await fsp.lstat(caption)).isSymbolicLink()).toBe(true)
    expect(await guarded(w.world)).toEqual(outside)
    expect(await lockReleased(w.root)).toBe(true)
  })

  it('init does not adopt a symbolic link photo.txt beside an original: the image is listed as a problem', async () => {
    const world = await tempDir('lora-contain-')
    const root = join(world, 'dataset')
    await fsp.mkdir(root)
    await fsp.writeFile(join(world, 'secret.txt'), SECRET)
    await fsp.copyFile(join(FIXTURES, 'skimage-horse.png'), join(root, 'photo.png'))
    await fsp.copyFile(join(FIXTURES, 'plasma-Kite-screenshot.jpg'), join(root, 'kite.jpg'))
    await fsp.symlink(join(world, 'secret.txt'), join(root, 'photo.txt'))
    const outside = await guarded(world)
    const r = await loraIn(['init', '.', '--json'], {cwd: root})
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain('hunter2')
    const report = JSON.parse(r.stdout) as {added: {source: string}[]; problems: {source: string; reason: string}[]}
    expect(report.added.map((a) => a.source)).toEqual(['kite.jpg'])
    expect(report.problems).toEqual([
      {
        source: 'photo.png',
        reason: expect.stringContaining('its caption photo.txt is a symbolic link, not a regular file') as string,
      },
    ])
    const state = await readState(root)
    expect(JSON.stringify(state)).not.toContain('hunter2')
    expect(await guarded(world)).toEqual(outside)
  })

  it('a caption that is a FIFO: tag, export, status --rescan end promptly with a clear error and release the lock; init lists it', async () => {
    const w = await makeWorld()
    const caption = join(w.root, 'output', 'img_0001.txt')
    await fsp.rm(caption)
    execFileSync('mkfifo', [caption])
    const outside = await guarded(w.world)
    const message = 'error: output/img_0001.txt is a FIFO (named pipe), not a regular caption file'
    for (const args of [
      ['tag', '1', '--add', 'x'],
      ['export', join(w.world, 'train')],
      ['export', '-', '--format', 'csv'],
      ['status', '--rescan'],
    ]) {
      const r = await prompt(args, w.root)
      expect({args, code: r.code}).toEqual({args, code: 1})
      expect(r.stderr).toContain(message)
      expect(r.stderr).toContain(
        'hint: Remove it or move it out of the way (a caption file must be a regular file), then rerun the command.',
      )
      expect(await lockReleased(w.root)).toBe(true)
    }
    expect(await guarded(w.world)).toEqual(outside)

    const fresh = join(w.world, 'fresh')
    await fsp.mkdir(fresh)
    await fsp.copyFile(join(FIXTURES, 'skimage-horse.png'), join(fresh, 'photo.png'))
    execFileSync('mkfifo', [join(fresh, 'photo.txt')])
    const init = await prompt(['init', '.', '--json'], fresh)
    expect(init.code).toBe(0)
    expect(JSON.parse(init.stdout)).toMatchObject({
      added: [],
      problems: [
        {
          source: 'photo.png',
          reason: expect.stringContaining('its caption photo.txt is a FIFO (named pipe)') as string,
        },
      ],
    })
    expect(await lockReleased(fresh)).toBe(true)
  })

  it('a caption linked to /dev/zero: no hang, no crash (tag, export, status --rescan, init)', async () => {
    const w = await makeWorld()
    const caption = join(w.root, 'output', 'img_0002.txt')
    await fsp.rm(caption)
    await fsp.symlink('/dev/zero', caption)
    for (const args of [
      ['tag', '2', '--add', 'x'],
      ['export', join(w.world, 'train')],
      ['status', '--rescan'],
    ]) {
      const r = await prompt(args, w.root)
      expect({args, code: r.code, signal: r.signal}).toEqual({args, code: 1, signal: null})
      expect(r.stderr).toContain('error: output/img_0002.txt is a symbolic link, not a regular caption file')
    }
    const fresh = join(w.world, 'fresh')
    await fsp.mkdir(fresh)
    await fsp.copyFile(join(FIXTURES, 'skimage-horse.png'), join(fresh, 'photo.png'))
    await fsp.symlink('/dev/zero', join(fresh, 'photo.txt'))
    const init = await prompt(['init', '.', '--json'], fresh)
    expect(init.code).toBe(0)
    expect(JSON.parse(init.stdout)).toMatchObject({
      added: [],
      problems: [
        {source: 'photo.png', reason: expect.stringContaining('its caption photo.txt is a symbolic link') as string},
      ],
    })
  })

  it("lora's own files of the wrong type (tags.txt a FIFO, state.json a link, a caption a folder) name the file instead of hanging or failing unexpectedly", async () => {
    const w = await makeWorld()
    const vocabulary = join(w.root, 'output', 'tags.txt')
    await fsp.rm(vocabulary)
    execFileSync('mkfifo', [vocabulary])
    const tags = await prompt(['tag', '1', '--add', 'y'], w.root)
    expect(tags.code).toBe(1)
    expect(tags.stderr).toContain(
      'error: output/tags.txt is a FIFO (named pipe), not a regular vocabulary file (tags.txt)',
    )
    await fsp.rm(vocabulary)

    const state = join(w.root, '.lora-tagger', 'state.json')
    await fsp.rename(state, join(w.world, 'state.json'))
    await fsp.symlink(join(w.world, 'state.json'), state)
    const status = await prompt(['status'], w.root)
    expect(status.code).toBe(1)
    expect(status.stderr).toContain('error: .lora-tagger/state.json is a symbolic link, not a regular state file')
    await fsp.rm(state)
    await fsp.rename(join(w.world, 'state.json'), state)

    const caption = join(w.root, 'output', 'img_0003.txt')
    await fsp.rm(caption)
    await fsp.mkdir(caption)
    const tag = await loraIn(['tag', '3', '--add', 'z'], {cwd: w.root})
    expect(tag.code).toBe(1)
    expect(tag.stderr).toContain('error: output/img_0003.txt is a folder, not a regular caption file')
    expect(tag.stderr).not.toContain('unexpected')

    // A stored reference vocabulary that is a FIFO (or its index cache): never opened for reading.
    await fsp.mkdir(join(w.root, '.lora-tagger', 'reference'), {recursive: true})
    execFileSync('mkfifo', [join(w.root, '.lora-tagger', 'reference', 'danbooru.tsv')])
    const list = await prompt(['tags', 'import', '--list'], w.root)
    expect(list.code).toBe(1)
    expect(list.stderr).toContain(
      'error: .lora-tagger/reference/danbooru.tsv is a FIFO (named pipe), not a regular reference vocabulary file',
    )
    const removed = await prompt(['tags', 'import', '--remove', 'danbooru'], w.root)
    expect(removed.code).toBe(0)
    await expect(fsp.lstat(join(w.root, '.lora-tagger', 'reference', 'danbooru.tsv'))).rejects.toMatchObject({
      code: 'ENOENT',
    })
  })

  it('a lock that is a FIFO or a link to /dev/zero is named, never waited on or read: exit 1, and lora works once it is removed', async () => {
    const w = await makeWorld()
    const lock = join(w.root, '.lora-tagger', 'lock')
    const cases: [() => Promise<void>, string][] = [
      [
        async () => {
          execFileSync('mkfifo', [lock])
        },
        'a FIFO (named pipe)',
      ],
      [async () => fsp.symlink('/dev/zero', lock), 'a symbolic link'],
    ]
    for (const [make, what] of cases) {
      await make()
      const r = await prompt(['tag', '3', '--add', 'foo'], w.root)
      expect({what, code: r.code}).toEqual({what, code: 1})
      expect(r.stderr).toContain(`error: .lora-tagger/lock is ${what}, not a regular lock file`)
      expect(r.stderr).toContain('remove .lora-tagger/lock')
      expect(r.stderr).not.toContain('unexpected')
      expect((await readState(w.root)).images[2].tags).not.toContain('foo')
      await fsp.rm(lock)
    }
    await ok(['tag', '3', '--add', 'foo'], w.root)
    expect((await readState(w.root)).images[2].tags).toContain('foo')
  })
})
