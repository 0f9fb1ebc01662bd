/**
 * `lora init`, in-process (test/in-process.ts: the built commands run inside jest, same exit code, stdout and stderr
 * as the binary), on copies of the real fixture images in temp folders. Checks the exit code, stdout, stderr and
 * every file it leaves: output/ (renamed images, caption files, tags.txt), .lora-tagger/{config.yaml,state.json},
 * and the originals. test/e2e/init.test.ts runs a smoke of the same through bin/run.js.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {parse as parseYaml} from 'yaml'
import {
  FIXTURES,
  FIXTURE_FACTS,
  GOOD_FIXTURES,
  TRUNCATED,
  cleanupTemps,
  copyFixtures,
  inode,
  listFiles,
  readState,
  readText,
  sha256,
  snapshot,
  tempDir,
} from '../e2e/e2e-helpers.js'
import {lora, loraJson, loraOk, type RunResult} from './command-helpers.js'

afterAll(cleanupTemps)

const ALL_FIXTURES = [...GOOD_FIXTURES, TRUNCATED]

/** The files `lora init` must leave in output/ for the seven good fixtures (default names, .txt captions). */
const EXPECTED_OUTPUT = [
  ...FIXTURE_FACTS.flatMap((f) => [f.file, f.file.replace(/\.\w+$/u, '.txt')]),
  'tags.txt',
].sort()

/** sha256 of each fixture, by name. */
const fixtureSha: Record<string, string> = {}
beforeAll(async () => {
  for (const name of ALL_FIXTURES) fixtureSha[name] = await sha256(join(FIXTURES, name))
})

/** A temp folder holding copies of the given fixtures (all by default). */
async function imagesDir(names: string[] = ALL_FIXTURES): Promise<string> {
  const dir = join(await tempDir('lora-init-'), 'imgs')
  await copyFixtures(dir, names)
  return dir
}

/** Checks what every init of all fixtures leaves in output/ and state.json, whatever the mode. */
async function expectImported(dir: string): Promise<void> {
  expect(await listFiles(join(dir, 'output'))).toEqual(EXPECTED_OUTPUT)
  for (const f of FIXTURE_FACTS) {
    expect(await sha256(join(dir, 'output', f.file))).toBe(fixtureSha[f.source])
    expect(await readText(join(dir, 'output', f.file.replace(/\.\w+$/u, '.txt')))).toBe('')
  }
  expect(await readText(join(dir, 'output', 'tags.txt'))).toBe('')
  // Derived caches (cache/) may be there too; the dataset's own files are exactly these.
  expect((await listFiles(join(dir, '.lora-tagger'))).filter((f) => !f.startsWith('cache/'))).toEqual([
    'config.yaml',
    'state.json',
  ])

  const state = await readState(dir)
  expect(state.images).toHaveLength(7)
  for (const [i, f] of FIXTURE_FACTS.entries()) {
    const stat = await fsp.stat(join(FIXTURES, f.source))
    expect(state.images[i]).toMatchObject({
      id: f.id,
      file: f.file,
      source: f.source,
      sha256: fixtureSha[f.source],
      bytes: stat.size,
      width: f.width,
      height: f.height,
      format: f.format,
      status: 'pending',
      tags: [],
    })
  }
  expect(state.duplicates).toEqual([])
  expect(state.problems).toHaveLength(1)
  expect(state.problems[0].source).toBe(TRUNCATED)
  expect(state.problems[0].reason).toMatch(/\S/u)
}

const MODES = [
  {mode: 'copy', flags: [] as string[], verb: 'copied'},
  {mode: 'move', flags: ['--move'], verb: 'moved'},
  {mode: 'link', flags: ['--link'], verb: 'linked'},
]

/** The three mode runs, one after the other (in-process runs must not overlap), the first time a mode's block asks. */
let modeRuns: Promise<{dir: string; result: RunResult; inodes: Record<string, number>}[]> | undefined
function runModes() {
  modeRuns ??= (async () => {
    const runs: {dir: string; result: RunResult; inodes: Record<string, number>}[] = []
    for (const {flags} of MODES) {
      const dir = await imagesDir()
      const inodes: Record<string, number> = {}
      for (const name of ALL_FIXTURES) inodes[name] = inode(join(dir, name))
      const result = await lora(['init', dir, ...flags], {cwd: dir})
      runs.push({dir, result, inodes})
    }
    return runs
  })()
  return modeRuns
}

describe.each(MODES)('lora init in $mode mode on the fixture images', ({mode, verb}) => {
  let dir: string
  let result: RunResult
  let inodes: Record<string, number>

  beforeAll(async () => {
    ;({dir, result, inodes} = (await runModes())[MODES.findIndex((m) => m.mode === mode)])
  })

  it('exits 0, prints its summary on stderr and nothing on stdout', () => {
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain(`Created dataset ${dir}\n`)
    expect(result.stderr).toContain(`7 images ${verb} to ${join(dir, 'output')}\n`)
    expect(result.stderr).toMatch(new RegExp(`skipped ${TRUNCATED.replace('.', '\\.')}: \\S`, 'u'))
    expect(result.stderr).toContain('0/7 tagged; 7 pending')
  })

  it('names the images img_0001.. in natural order with one empty caption each, tags.txt, config and state', async () => {
    await expectImported(dir)
    const config = parseYaml(await readText(join(dir, '.lora-tagger', 'config.yaml')))
    expect(config).toMatchObject({prefix: 'img_', output: 'output', captionExtension: '.txt', trigger: null})
  })

  it('leaves the truncated JPEG untouched where it was', async () => {
    expect(await sha256(join(dir, TRUNCATED))).toBe(fixtureSha[TRUNCATED])
    expect(inode(join(dir, TRUNCATED))).toBe(inodes[TRUNCATED])
  })

  if (mode === 'move') {
    it('removes the originals it moved (the new files are the same inodes)', async () => {
      expect(await listFiles(dir).then((l) => l.filter((f) => !f.includes('/')))).toEqual([TRUNCATED])
      for (const f of FIXTURE_FACTS) expect(inode(join(dir, 'output', f.file))).toBe(inodes[f.source])
    })
  } else {
    it('keeps the originals byte for byte', async () => {
      for (const name of GOOD_FIXTURES) expect(await sha256(join(dir, name))).toBe(fixtureSha[name])
    })
  }

  if (mode === 'link') {
    it('hard-links: each new file is the original inode', () => {
      for (const f of FIXTURE_FACTS) expect(inode(join(dir, 'output', f.file))).toBe(inode(join(dir, f.source)))
    })
  }
  if (mode === 'copy') {
    it('copies: each new file is a separate file', () => {
      for (const f of FIXTURE_FACTS) expect(inode(join(dir, 'output', f.file))).not.toBe(inode(join(dir, f.source)))
    })
  }

  it('lists the truncated JPEG as a problem in `lora status`', async () => {
    const status = await loraJson(['status'], {cwd: dir})
    expect(status.images).toEqual({total: 7, tagged: 0, skipped: 0, pending: 7, auto: 0})
    expect(status.problems).toEqual([{source: TRUNCATED, reason: expect.stringMatching(/\S/u)}])
  })
})

describe('lora init naming and captions', () => {
  it('numbers images in natural order of their names and lowercases extensions', async () => {
    const dir = join(await tempDir('lora-init-'), 'imgs')
    await fsp.mkdir(dir)
    await fsp.copyFile(join(FIXTURES, 'skimage-horse.png'), join(dir, 'shot1.PNG'))
    await fsp.copyFile(join(FIXTURES, 'plasma-Kite-screenshot.jpg'), join(dir, 'shot2.Jpeg'))
    await fsp.copyFile(join(FIXTURES, 'plasma-Autumn-screenshot.jpg'), join(dir, 'shot10.JPG'))
    const result = await lora(['init', '.'], {cwd: dir})
    expect(result.code).toBe(0)
    expect(await listFiles(join(dir, 'output'))).toEqual([
      'img_0001.png',
      'img_0001.txt',
      'img_0002.jpeg',
      'img_0002.txt',
      'img_0003.jpg',
      'img_0003.txt',
      'tags.txt',
    ])
    const state = await readState(dir)
    expect(state.images.map((i) => [i.id, i.source, i.file])).toEqual([
      ['img_0001', 'shot1.PNG', 'img_0001.png'],
      ['img_0002', 'shot2.Jpeg', 'img_0002.jpeg'],
      ['img_0003', 'shot10.JPG', 'img_0003.jpg'],
    ])
    expect(await sha256(join(dir, 'output', 'img_0003.jpg'))).toBe(fixtureSha['plasma-Autumn-screenshot.jpg'])
  })

  it('adopts a stem.txt or stem.caption next to an original as its tags: the image is tagged, the tags go in tags.txt', async () => {
    const dir = await imagesDir()
    await fsp.writeFile(join(dir, 'skimage-horse.txt'), 'horse,  black and white\n')
    await fsp.writeFile(join(dir, 'skimage-page.caption'), 'page, text\n')
    const summary = await loraJson(['init', '.'], {cwd: dir})
    expect(summary.adoptedCaptions).toBe(2)
    expect(summary.added.find((a: {id: string}) => a.id === 'img_0004')).toMatchObject({
      source: 'skimage-horse.png',
      status: 'tagged',
      tags: ['horse', 'black and white'],
    })
    expect(summary.added.find((a: {id: string}) => a.id === 'img_0006')).toMatchObject({
      source: 'skimage-page.png',
      status: 'tagged',
      tags: ['page', 'text'],
    })
    expect(summary.images).toEqual({total: 7, tagged: 2, skipped: 0, pending: 5, auto: 0})

    expect(await readText(join(dir, 'output', 'img_0004.txt'))).toBe('horse, black and white\n')
    expect(await readText(join(dir, 'output', 'img_0006.txt'))).toBe('page, text\n')
    expect(await readText(join(dir, 'output', 'img_0001.txt'))).toBe('')
    expect(await readText(join(dir, 'output', 'tags.txt'))).toBe('black and white\nhorse\npage\ntext\n')
    const state = await readState(dir)
    expect(state.images[3]).toMatchObject({id: 'img_0004', status: 'tagged', tags: ['horse', 'black and white']})
    expect(state.images[5]).toMatchObject({id: 'img_0006', status: 'tagged', tags: ['page', 'text']})
    expect(state.images.filter((i) => i.status === 'pending')).toHaveLength(5)
    // The side files themselves are left alone.
    expect(await readText(join(dir, 'skimage-horse.txt'))).toBe('horse,  black and white\n')
    expect(await readText(join(dir, 'skimage-page.caption'))).toBe('page, text\n')
  })

  it('--prefix, --out, --caption-ext and --trigger: trigger first in every caption, adopted ones too', async () => {
    const dir = await imagesDir()
    await fsp.writeFile(join(dir, 'skimage-horse.txt'), 'horse, ohwx, grass\n')
    const result = await lora(
      ['init', '.', '--prefix', 'char_', '--out', 'train', '--caption-ext', '.caption', '--trigger', 'ohwx'],
      {cwd: dir},
    )
    expect(result.code).toBe(0)
    expect(result.stderr).toContain(`7 images copied to ${join(dir, 'train')}`)
    expect(result.stderr).toContain('1 existing caption adopted')
    expect(await fsp.readdir(dir)).not.toContain('output')

    const expected = [
      ...FIXTURE_FACTS.flatMap((f) => [
        f.file.replace('img_', 'char_'),
        f.file.replace('img_', 'char_').replace(/\.\w+$/u, '.caption'),
      ]),
      'tags.txt',
    ].sort()
    expect(await listFiles(join(dir, 'train'))).toEqual(expected)
    for (const f of FIXTURE_FACTS) {
      const caption = await readText(join(dir, 'train', f.file.replace('img_', 'char_').replace(/\.\w+$/u, '.caption')))
      expect(caption).toBe(f.source === 'skimage-horse.png' ? 'ohwx, horse, grass\n' : 'ohwx\n')
      expect(await sha256(join(dir, 'train', f.file.replace('img_', 'char_')))).toBe(fixtureSha[f.source])
    }
    expect(await readText(join(dir, 'train', 'tags.txt'))).toMatch(/^grass\nhorse\n/u)

    const config = parseYaml(await readText(join(dir, '.lora-tagger', 'config.yaml')))
    expect(config).toMatchObject({prefix: 'char_', output: 'train', captionExtension: '.caption', trigger: 'ohwx'})
    const state = await readState(dir)
    expect(state.images.map((i) => i.id)).toEqual([
      'char_0001',
      'char_0002',
      'char_0003',
      'char_0004',
      'char_0005',
      'char_0006',
      'char_0007',
    ])
    expect(state.images[3]).toMatchObject({file: 'char_0004.png', status: 'tagged', tags: ['ohwx', 'horse', 'grass']})
    expect(state.images[0]).toMatchObject({status: 'pending', tags: ['ohwx']})

    // The settings stick: a rerun without flags keeps them (and agrees with them when repeated).
    const again = await lora(['init', '.', '--prefix', 'char_', '--trigger', 'ohwx'], {cwd: dir})
    expect(again.code).toBe(0)
    expect(again.stderr).toContain('0 images copied')
  })
})

describe('lora init problem files', () => {
  it('lists a text file named x.jpg and a 0-byte y.png as problems with reasons, and leaves them alone', async () => {
    const dir = await imagesDir(GOOD_FIXTURES.slice(0, 2))
    await fsp.writeFile(join(dir, 'x.jpg'), 'this is not a picture\n')
    await fsp.writeFile(join(dir, 'y.png'), '')
    const result = await lora(['init', '.', '--json'], {cwd: dir})
    expect(result.code).toBe(0)
    const summary = JSON.parse(result.stdout)
    expect(summary.added.map((a: {source: string}) => a.source)).toEqual(GOOD_FIXTURES.slice(0, 2))
    const problems = Object.fromEntries(
      summary.problems.map((p: {source: string; reason: string}) => [p.source, p.reason]),
    )
    expect(Object.keys(problems).sort()).toEqual(['x.jpg', 'y.png'])
    expect(problems['x.jpg']).toMatch(/image/iu)
    expect(problems['y.png']).toMatch(/empty|0 bytes/iu)
    expect(await readText(join(dir, 'x.jpg'))).toBe('this is not a picture\n')
    expect((await fsp.stat(join(dir, 'y.png'))).size).toBe(0)
    expect(await listFiles(join(dir, 'output'))).toEqual([
      'img_0001.jpg',
      'img_0001.txt',
      'img_0002.jpg',
      'img_0002.txt',
      'tags.txt',
    ])

    const text = await lora(['status'], {cwd: dir})
    expect(text.stdout).toContain('Problem files (not imported): 2')
    expect(text.stdout).toContain(`x.jpg: ${problems['x.jpg']}`)
    expect(text.stdout).toContain(`y.png: ${problems['y.png']}`)
  })

  it('leaves the truncated JPEG in place in --move mode too', async () => {
    const dir = await imagesDir([GOOD_FIXTURES[0], TRUNCATED])
    const result = await lora(['init', '.', '--move'], {cwd: dir})
    expect(result.code).toBe(0)
    expect(result.stderr).toContain(`skipped ${TRUNCATED}: `)
    expect((await fsp.readdir(dir)).sort()).toEqual(['.lora-tagger', 'output', TRUNCATED])
    expect(await sha256(join(dir, TRUNCATED))).toBe(fixtureSha[TRUNCATED])
  })

  it('--strict: exits 1 naming the truncated JPEG and changes nothing', async () => {
    const dir = await imagesDir()
    const before = await snapshot(dir)
    const result = await lora(['init', '.', '--strict', '--move'], {cwd: dir})
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain(TRUNCATED)
    expect(result.stderr).toMatch(/^error: /mu)
    expect(await snapshot(dir)).toEqual(before)
  })

  it('imports a duplicate (same bytes, other name) once and reports it in the --json summary and in status', async () => {
    const dir = await imagesDir()
    await fsp.copyFile(join(FIXTURES, 'plasma-Kite-screenshot.jpg'), join(dir, 'zz-kite-copy.jpg'))
    const result = await lora(['init', '.', '--json'], {cwd: dir})
    expect(result.code).toBe(0)
    const summary = JSON.parse(result.stdout)
    expect(summary.duplicates).toEqual([{source: 'zz-kite-copy.jpg', of: 'img_0002'}])
    expect(summary.added).toHaveLength(7)
    expect(await listFiles(join(dir, 'output'))).toEqual(EXPECTED_OUTPUT)
    expect(await sha256(join(dir, 'zz-kite-copy.jpg'))).toBe(fixtureSha['plasma-Kite-screenshot.jpg'])

    const status = await loraJson(['status'], {cwd: dir})
    expect(status.duplicates).toEqual([{source: 'zz-kite-copy.jpg', of: 'img_0002'}])
    const text = await lora(['status'], {cwd: dir})
    expect(text.stdout).toContain('Duplicates (not imported): 1\n  zz-kite-copy.jpg = img_0002\n')
  })

  it('a non-existent folder exits 2', async () => {
    const dir = await tempDir('lora-init-')
    const result = await lora(['init', join(dir, 'nope')], {cwd: dir})
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain(`${join(dir, 'nope')} does not exist`)
    expect(await fsp.readdir(dir)).toEqual([])
  })

  it('refuses when output/img_0001.jpg exists and lora did not make it; the originals stay untouched', async () => {
    const dir = await imagesDir()
    await fsp.mkdir(join(dir, 'output'))
    await fsp.writeFile(join(dir, 'output', 'img_0001.jpg'), 'not mine to replace')
    const result = await lora(['init', '.', '--move'], {cwd: dir})
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('output/img_0001.jpg already exists')
    for (const name of ALL_FIXTURES) expect(await sha256(join(dir, name))).toBe(fixtureSha[name])
    expect(await fsp.readdir(join(dir, 'output'))).toEqual(['img_0001.jpg'])
    expect(await readText(join(dir, 'output', 'img_0001.jpg'))).toBe('not mine to replace')
  })
})

describe('lora init --recursive next to another dataset', () => {
  const OTHER = `another dataset (it has its own .lora-tagger/); nothing in it is imported, as its images belong to that dataset`

  it('--move leaves a dataset in a subfolder alone (its output, originals and deeper folders) and says so', async () => {
    const nest = await imagesDir([GOOD_FIXTURES[0]])
    const sub = join(nest, 'sub')
    await copyFixtures(sub, [GOOD_FIXTURES[1]])
    await loraOk(['init', 'sub', '--move'], {cwd: nest})
    // More of the inner dataset's files: an original beside it and one in a folder below it.
    await copyFixtures(sub, [GOOD_FIXTURES[2]])
    await copyFixtures(join(sub, 'deeper'), [GOOD_FIXTURES[3]])
    const inner = await snapshot(sub)

    const result = await lora(['init', '.', '-r', '--move', '--json'], {cwd: nest})
    expect(result.code).toBe(0)
    const summary = JSON.parse(result.stdout)
    expect(summary.added.map((a: {source: string}) => a.source)).toEqual([GOOD_FIXTURES[0]])
    expect(summary.problems).toEqual([{source: 'sub/', reason: OTHER}])
    // Nothing of the inner dataset moved: its images are where it recorded them, and it misses none.
    expect(await snapshot(sub)).toEqual(inner)
    expect((await loraJson(['status'], {cwd: sub})).missing).toEqual([])
    // Said in the human summary as the other files left out are; not kept as a problem file of the outer dataset.
    const again = await lora(['init', '.', '-r', '--move', '--strict'], {cwd: nest})
    expect(again.code).toBe(0)
    expect(again.stderr).toContain(`  skipped sub/: ${OTHER}\n`)
    expect((await readState(nest)).problems).toEqual([])
    expect(await snapshot(sub)).toEqual(inner)
  })

  it('a folder holding only another dataset is no images (exit 1, nothing created), and says why', async () => {
    const nest = join(await tempDir('lora-init-'), 'nest')
    await copyFixtures(join(nest, 'sub'), [GOOD_FIXTURES[0]])
    await loraOk(['init', 'sub', '--move'], {cwd: nest})
    const before = await snapshot(nest)
    for (const args of [
      ['init', '.', '-r'],
      ['init', '.'],
    ]) {
      const result = await lora(args, {cwd: nest})
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(
        'hint: sub/ is another dataset (with .lora-tagger/), whose images belong to it and are never taken in.',
      )
      // Not "1 image is in 1 subfolder; to include them: ... --recursive".
      expect(result.stderr).not.toContain('--recursive')
      expect(await snapshot(nest)).toEqual(before)
    }
  })
})

describe('lora init on an existing dataset', () => {
  it('adds new images incrementally: new ids continue after the last, existing ids and files unchanged', async () => {
    const first = [
      'plasma-Autumn-screenshot.jpg',
      'plasma-Kite-screenshot.jpg',
      'plasma-Path-screenshot.jpg',
      'skimage-horse.png',
      TRUNCATED,
    ]
    const dir = await imagesDir(first)
    await loraOk(['init', '.'], {cwd: dir})
    await loraOk(['tag', '1', '--add', 'keep me'], {cwd: dir})
    const outBefore = await snapshot(join(dir, 'output'))
    const stateBefore = await readState(dir)

    // New files, one of which sorts before every old name: it still gets a new number after the last.
    await fsp.copyFile(join(FIXTURES, 'skimage-page.png'), join(dir, '000-page.png'))
    await copyFixtures(dir, ['skimage-no_time_for_that_tiny.gif', 'skimage-palette_color.png'])
    const result = await lora(['init', '.', '--json'], {cwd: dir})
    expect(result.code).toBe(0)
    const summary = JSON.parse(result.stdout)
    expect(summary.created).toBe(false)
    expect(summary.alreadyImported).toBe(4)
    expect(summary.added.map((a: {id: string; source: string; file: string}) => [a.id, a.source, a.file])).toEqual([
      ['img_0005', '000-page.png', 'img_0005.png'],
      ['img_0006', 'skimage-no_time_for_that_tiny.gif', 'img_0006.gif'],
      ['img_0007', 'skimage-palette_color.png', 'img_0007.png'],
    ])
    expect(summary.images).toEqual({total: 7, tagged: 1, skipped: 0, pending: 6, auto: 0})

    const outAfter = await snapshot(join(dir, 'output'))
    for (const [file, sha] of Object.entries(outBefore)) if (file !== 'tags.txt') expect(outAfter[file]).toBe(sha)
    expect(Object.keys(outAfter).sort()).toEqual(
      [
        ...Object.keys(outBefore),
        'img_0005.png',
        'img_0005.txt',
        'img_0006.gif',
        'img_0006.txt',
        'img_0007.png',
        'img_0007.txt',
      ].sort(),
    )
    expect(await readText(join(dir, 'output', 'img_0001.txt'))).toBe('keep me\n')
    expect(await readText(join(dir, 'output', 'tags.txt'))).toBe('keep me\n')
    const stateAfter = await readState(dir)
    expect(stateAfter.images.slice(0, 4)).toEqual(stateBefore.images)
    expect(await sha256(join(dir, 'output', 'img_0005.png'))).toBe(fixtureSha['skimage-page.png'])

    const text = await lora(['init', '.'], {cwd: dir})
    expect(text.code).toBe(0)
    expect(text.stderr).toContain('Updated dataset')
    expect(text.stderr).toContain('0 images copied')
    expect(text.stderr).toContain('7 already imported')
  })

  it('a rerun with a flag that contradicts the config is refused, and says how to change it (a trigger word: config and lora tag)', async () => {
    const dir = await imagesDir(GOOD_FIXTURES.slice(0, 2))
    await loraOk(['init', '.'], {cwd: dir})
    const prefix = await lora(['init', '.', '--prefix', 'char_'], {cwd: dir})
    expect(prefix.code).toBe(2)
    expect(prefix.stderr).toBe(
      `error: --prefix char_ differs from this dataset's prefix ("img_").\n` +
        'hint: Existing files keep their names; drop --prefix, or change "prefix" in .lora-tagger/config.yaml if you mean it for new images.\n',
    )
    const trigger = await lora(['init', '.', '--trigger', 'ohwx man'], {cwd: dir})
    expect(trigger.code).toBe(2)
    expect(trigger.stderr).toBe(
      `error: --trigger ohwx man differs from this dataset's trigger (null).\n` +
        "hint: Drop --trigger to import into this dataset. To give it a trigger word: set `trigger: ohwx man` in .lora-tagger/config.yaml, then `lora tag --all --add 'ohwx man'` puts it first in every caption.\n",
    )
  })

  it('says what it left out without looking: images in subfolders (without --recursive), files of other formats', async () => {
    const dir = await imagesDir(GOOD_FIXTURES.slice(0, 2))
    await copyFixtures(join(dir, 'sub'), GOOD_FIXTURES.slice(2, 3))
    await copyFixtures(join(dir, 'sub', 'deeper'), GOOD_FIXTURES.slice(3, 4))
    for (const name of ['a.heic', 'b.HEIC', 'c.jfif']) await fsp.writeFile(join(dir, name), 'not read')
    const r = await lora(['init', '.'], {cwd: dir})
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(
      `note: 2 images in 2 subfolders were not looked at; to include them: lora init ${dir} --recursive\n`,
    )
    expect(r.stderr).toContain(
      'note: 3 files in formats lora does not import (.heic ×2, .jfif ×1) were left out. Convert them to JPEG or PNG (a .jfif or .jpe file is a JPEG: rename it to .jpg), then run lora init again.\n',
    )
    const again = await loraJson(['init', '.', '--recursive'], {cwd: dir})
    expect(again.notImported).toEqual({
      inSubfolders: null,
      otherFormats: [
        {extension: 'heic', files: 2},
        {extension: 'jfif', files: 1},
      ],
    })
    expect(again.added.map((a: {source: string}) => a.source)).toEqual([
      `sub/${GOOD_FIXTURES[2]}`,
      `sub/deeper/${GOOD_FIXTURES[3]}`,
    ])
    // A folder of HEIC photos only: the no-images error says what it saw and what to do.
    const heic = join(await tempDir('lora-init-heic-'), 'imgs')
    await fsp.mkdir(heic)
    await fsp.writeFile(join(heic, 'IMG_1234.HEIC'), 'not read')
    const none = await lora(['init', '.'], {cwd: heic})
    expect(none.code).toBe(1)
    expect(none.stderr).toContain(
      'hint: 1 file in formats lora does not import (.heic ×1) was left out. Convert them to JPEG or PNG',
    )
  })

  it('--json prints the summary object and nothing else', async () => {
    const dir = await imagesDir()
    const result = await lora(['init', '.', '--json'], {cwd: dir})
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    const summary = JSON.parse(result.stdout)
    expect(Object.keys(summary).sort()).toEqual([
      'added',
      'adoptedCaptions',
      'alreadyImported',
      'created',
      'dataset',
      'duplicates',
      'images',
      'missing',
      'mode',
      'nearDuplicates',
      'notImported',
      'outputDir',
      'problems',
    ])
    expect(summary).toMatchObject({
      notImported: {inSubfolders: {images: 0, folders: 0}, otherFormats: []},
      dataset: dir,
      outputDir: join(dir, 'output'),
      created: true,
      mode: 'copy',
      alreadyImported: 0,
      adoptedCaptions: 0,
      duplicates: [],
      problems: [{source: TRUNCATED, reason: expect.stringMatching(/\S/u)}],
      images: {total: 7, tagged: 0, skipped: 0, pending: 7, auto: 0},
    })
    expect(summary.added).toEqual(
      FIXTURE_FACTS.map((f) => ({
        id: f.id,
        file: f.file,
        source: f.source,
        width: f.width,
        height: f.height,
        status: 'pending',
        tags: [],
      })),
    )
  })

  describe('re-init with a flag that contradicts the config', () => {
    let dir: string
    beforeAll(async () => {
      dir = await imagesDir(GOOD_FIXTURES.slice(0, 2))
      await loraOk(['init', '.'], {cwd: dir})
      await copyFixtures(dir, GOOD_FIXTURES.slice(2, 4))
    })

    it.each([
      [['--prefix', 'char_'], '--prefix char_'],
      [['--out', 'train'], '--out train'],
      [['--caption-ext', '.caption'], '--caption-ext .caption'],
      [['--trigger', 'ohwx'], '--trigger ohwx'],
    ])('%j exits 2 naming the flag and changes nothing', async (flags, named) => {
      const before = await snapshot(dir)
      const result = await lora(['init', '.', ...flags], {cwd: dir})
      expect(result.code).toBe(2)
      expect(result.stdout).toBe('')
      expect(result.stderr).toContain(named)
      expect(await snapshot(dir)).toEqual(before)
    })
  })
})
