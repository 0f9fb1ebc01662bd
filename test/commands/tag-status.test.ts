/**
 * `lora tag`, `lora next --print`, `lora status`, dataset discovery, the writer lock and config errors, in-process
 * (test/in-process.ts: the built commands run inside jest, same exit code, stdout and stderr as the binary), on a
 * dataset made by a real `lora init` of the fixture images. Each test works on its own copy of that dataset.
 * `status` and `next --print` run here through oclif; bin/run.js answers plain invocations of them by its fast path,
 * which test/e2e/fast-path.test.ts compares byte for byte with oclif, and test/e2e/tag-status.test.ts runs a smoke
 * of these commands through the binary.
 */
import * as fsp from 'node:fs/promises'
import {hostname} from 'node:os'
import {dirname, join} from 'node:path'
import {
  FIXTURE_FACTS,
  GOOD_FIXTURES,
  TRUNCATED,
  cleanupTemps,
  cloneDataset,
  deadPid,
  readState,
  readText,
  snapshot,
  spawnSleeper,
  tempDir,
} from '../e2e/e2e-helpers.js'
import {initDataset, lora, loraJson, loraOk} from './command-helpers.js'

let template: string

beforeAll(async () => {
  template = await initDataset({names: [...GOOD_FIXTURES, TRUNCATED]})
})
afterAll(cleanupTemps)

const caption = (dir: string, n: number) => readText(join(dir, 'output', `img_000${n}.txt`))
const captions = async (dir: string) => Promise.all(FIXTURE_FACTS.map((_, i) => caption(dir, i + 1)))
const vocabulary = (dir: string) => readText(join(dir, 'output', 'tags.txt'))

describe('lora tag', () => {
  it('adds tags by number: caption is exactly "a, b\\n", tags.txt and state.json follow', async () => {
    const dir = await cloneDataset(template)
    const result = await lora(['tag', '1', '--add', 'red hair,smile'], {cwd: dir})
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('img_0001: +red hair +smile [pending → tagged]\n')
    expect(result.stderr).toBe('1 of 1 image changed.\n')
    expect(await caption(dir, 1)).toBe('red hair, smile\n')
    expect(await vocabulary(dir)).toBe('red hair\nsmile\n')
    const state = await readState(dir)
    expect(state.images[0]).toMatchObject({id: 'img_0001', status: 'tagged', tags: ['red hair', 'smile']})
    expect(state.images.slice(1).every((i) => i.status === 'pending' && i.tags.length === 0)).toBe(true)
    expect((await captions(dir)).slice(1)).toEqual(['', '', '', '', '', ''])

    // Messy input is normalised: trimmed, inner spaces collapsed, repeats dropped, one line, ", " between tags.
    await loraOk(['tag', '2', '--add', '  a ,  b  ', '--add', 'a,,b', '-a', 'c   d'], {cwd: dir})
    expect(await caption(dir, 2)).toBe('a, b, c d\n')
    expect(await vocabulary(dir)).toBe('a\nb\nc d\nred hair\nsmile\n')
  })

  it('names images by number, id, file name, caption name, path (relative, absolute, from a subfolder) and original name', async () => {
    const dir = await cloneDataset(template)
    const refs = [
      '1',
      'img_0002',
      'img_0003.jpg',
      'output/img_0004.png',
      join(dir, 'output', 'img_0005.gif'),
      'skimage-page.png',
    ]
    const result = await lora(['tag', ...refs, '--add', 't'], {cwd: dir})
    expect(result.code).toBe(0)
    expect(result.stdout.trim().split('\n')).toEqual(
      [1, 2, 3, 4, 5, 6].map((n) => `img_000${n}: +t [pending → tagged]`),
    )
    expect(result.stderr).toBe('6 of 6 images changed.\n')
    expect(await captions(dir)).toEqual(['t\n', 't\n', 't\n', 't\n', 't\n', 't\n', ''])

    const fromOutput = await lora(['tag', './img_0007.png', 'img_0001.txt', '--add', 'u'], {cwd: join(dir, 'output')})
    expect(fromOutput.code).toBe(0)
    expect(await captions(dir)).toEqual(['t, u\n', 't\n', 't\n', 't\n', 't\n', 't\n', 'u\n'])
  })

  it('--remove, --set, --clear (back to pending) and --skip', async () => {
    const dir = await cloneDataset(template)
    await loraOk(['tag', '1', '--add', 'a,b,c'], {cwd: dir})

    let r = await loraOk(['tag', '1', '--remove', 'b'], {cwd: dir})
    expect(r.stdout).toBe('img_0001: -b\n')
    expect(await caption(dir, 1)).toBe('a, c\n')

    r = await loraOk(['tag', '1', '--set', 'x, y'], {cwd: dir})
    expect(r.stdout).toBe('img_0001: +x +y -a -c\n')
    expect(await caption(dir, 1)).toBe('x, y\n')

    r = await loraOk(['tag', '1', '--clear'], {cwd: dir})
    expect(r.stdout).toBe('img_0001: -x -y [tagged → pending]\n')
    expect(await caption(dir, 1)).toBe('')

    r = await loraOk(['tag', '2', '--skip'], {cwd: dir})
    expect(r.stdout).toBe('img_0002: [pending → skipped]\n')
    expect(await caption(dir, 2)).toBe('')

    const state = await readState(dir)
    expect(state.images[0]).toMatchObject({status: 'pending', tags: []})
    expect(state.images[1]).toMatchObject({status: 'skipped', tags: []})
    // The vocabulary keeps every tag used.
    expect(await vocabulary(dir)).toBe('a\nb\nc\nx\ny\n')
  })

  it('a skipped image stays skipped (and keeps its skip reason) whatever an edit does to its tags, until --unskip', async () => {
    const dir = await cloneDataset(template)
    await loraOk(['tag', '2', '--skip'], {cwd: dir})
    // A skip lora curate --apply made: its reason is in state.json.
    const statePath = join(dir, '.lora-tagger', 'state.json')
    const state = JSON.parse(await fsp.readFile(statePath, 'utf8')) as {images: Record<string, unknown>[]}
    state.images[2] = {...state.images[2], status: 'skipped', skipReason: 'near-duplicate of img_0001 (distance 3)'}
    await fsp.writeFile(statePath, JSON.stringify(state, null, 2) + '\n')
    const r = await loraJson(['tag', '--all', '--add', 'photo'], {cwd: dir})
    const statuses = (id: string) => r.images.find((i: {id: string}) => i.id === id)
    expect(statuses('img_0002')).toMatchObject({statusBefore: 'skipped', status: 'skipped', added: ['photo']})
    expect(statuses('img_0003')).toMatchObject({statusBefore: 'skipped', status: 'skipped', added: ['photo']})
    expect(statuses('img_0001')).toMatchObject({statusBefore: 'pending', status: 'tagged'})
    await loraOk(['tag', '3', '--remove', 'photo'], {cwd: dir})
    await loraOk(['tag', '--stdin'], {cwd: dir, input: 'img_0002\tcat\n'})
    let after = (await readState(dir)).images
    expect(after[1]).toMatchObject({status: 'skipped', tags: ['cat']})
    expect(after[2]).toMatchObject({status: 'skipped', tags: [], skipReason: 'near-duplicate of img_0001 (distance 3)'})
    // --unskip brings them back: tagged with tags, pending without; the reason goes.
    await loraOk(['tag', '2', '3', '--unskip'], {cwd: dir})
    after = (await readState(dir)).images
    expect(after[1]).toMatchObject({status: 'tagged', tags: ['cat']})
    expect(after[2]).toMatchObject({status: 'pending', tags: []})
    expect(Object.keys(after[2])).not.toContain('skipReason')
  })

  it('bulk: --with, --without, --pending, --all', async () => {
    const dir = await cloneDataset(template)
    await loraOk(['tag', '--stdin'], {cwd: dir, input: '1\ta\n2\ta, b\n'})
    await loraOk(['tag', '3', '--skip'], {cwd: dir})

    let r = await loraOk(['tag', '--with', 'a', '--add', 'w'], {cwd: dir})
    expect(r.stdout).toBe('img_0001: +w\nimg_0002: +w\n')
    expect(await captions(dir)).toEqual(['a, w\n', 'a, b, w\n', '', '', '', '', ''])

    r = await loraOk(['tag', '--with', 'a', '--without', 'b', '--add', 'only1'], {cwd: dir})
    expect(r.stdout).toBe('img_0001: +only1\n')

    r = await loraOk(['tag', '--pending', '--add', 'p'], {cwd: dir})
    expect(r.stdout).toBe([4, 5, 6, 7].map((n) => `img_000${n}: +p [pending → tagged]\n`).join(''))
    expect(r.stderr).toBe('4 of 4 images changed.\n')
    expect(await captions(dir)).toEqual(['a, w, only1\n', 'a, b, w\n', '', 'p\n', 'p\n', 'p\n', 'p\n'])

    r = await loraOk(['tag', '--without', 'p', '--add', 'np'], {cwd: dir})
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(':')[0]),
    ).toEqual(['img_0001', 'img_0002', 'img_0003'])

    r = await loraOk(['tag', '--all', '--add', 'z'], {cwd: dir})
    expect(r.stderr).toBe('7 of 7 images changed.\n')
    expect(await captions(dir)).toEqual([
      'a, w, only1, np, z\n',
      'a, b, w, np, z\n',
      'np, z\n',
      'p, z\n',
      'p, z\n',
      'p, z\n',
      'p, z\n',
    ])
    expect(await vocabulary(dir)).toBe('a\nb\nnp\nonly1\np\nw\nz\n')
    const state = await readState(dir)
    expect(state.images.map((i) => i.tags.join(', ') + '\n')).toEqual(await captions(dir))
  })

  it('--dry-run shows what would change and writes nothing', async () => {
    const dir = await cloneDataset(template)
    await loraOk(['tag', '1', '--add', 'a'], {cwd: dir})
    const before = await snapshot(dir)

    const r = await lora(['tag', '--all', '--add', 'x', '--remove', 'a', '--dry-run'], {cwd: dir})
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(
      ['img_0001: +x -a', ...[2, 3, 4, 5, 6, 7].map((n) => `img_000${n}: +x [pending → tagged]`)].join('\n') + '\n',
    )
    expect(r.stderr).toBe('7 of 7 images would change (dry run; nothing written).\n')
    expect(await snapshot(dir)).toEqual(before)

    const json = await loraJson(['tag', '1', '-n', '--set', 'q'], {cwd: dir})
    expect(json).toMatchObject({
      dryRun: true,
      changed: 1,
      images: [{id: 'img_0001', before: ['a'], after: ['q'], changed: true}],
    })
    expect(await snapshot(dir)).toEqual(before)
  })

  it('--stdin: `<image>\\t<tags>` lines replace the tags; tags alone when one image is named', async () => {
    const dir = await cloneDataset(template)
    await loraOk(['tag', '1', '--add', 'old'], {cwd: dir})
    const r = await lora(['tag', '--stdin'], {
      cwd: dir,
      input: 'img_0001\tcat, sitting\n\n2\tdog\nimg_0003.jpg\t  sky ,sea\n',
    })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(
      'img_0001: +cat +sitting -old\nimg_0002: +dog [pending → tagged]\nimg_0003: +sky +sea [pending → tagged]\n',
    )
    expect(await captions(dir)).toEqual(['cat, sitting\n', 'dog\n', 'sky, sea\n', '', '', '', ''])

    const one = await lora(['tag', 'img_0004', '--stdin'], {cwd: dir, input: 'one,two\n'})
    expect(one.code).toBe(0)
    expect(one.stdout).toBe('img_0004: +one +two [pending → tagged]\n')
    expect(await caption(dir, 4)).toBe('one, two\n')
    expect(await vocabulary(dir)).toBe('cat\ndog\nold\none\nsea\nsitting\nsky\ntwo\n')

    // A line without a tab (and no image named) is a usage error; nothing is written.
    const before = await snapshot(dir)
    const bad = await lora(['tag', '--stdin'], {cwd: dir, input: 'img_0005\tfine\njust tags\n'})
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('no tab')
    // An image that matches nothing: the line is named.
    const unknown = await lora(['tag', '--stdin'], {cwd: dir, input: 'img_0005\tfine\nbogus\tx\n'})
    expect(unknown.code).toBe(2)
    expect(unknown.stderr.split('\n')[0]).toBe('error: stdin line 2: No image matches "bogus".')
    expect(await snapshot(dir)).toEqual(before)
  })

  it('--json prints one report per image', async () => {
    const dir = await cloneDataset(template)
    await loraOk(['tag', '2', '--add', 'a'], {cwd: dir})
    const r = await lora(['tag', '1', '2', '--add', 'a,b', '--json'], {cwd: dir})
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
    const report = JSON.parse(r.stdout)
    expect(report).toEqual({
      dryRun: false,
      changed: 2,
      images: [
        {
          id: 'img_0001',
          file: 'img_0001.jpg',
          before: [],
          after: ['a', 'b'],
          added: ['a', 'b'],
          removed: [],
          statusBefore: 'pending',
          status: 'tagged',
          changed: true,
        },
        {
          id: 'img_0002',
          file: 'img_0002.jpg',
          before: ['a'],
          after: ['a', 'b'],
          added: ['b'],
          removed: [],
          statusBefore: 'tagged',
          status: 'tagged',
          changed: true,
        },
      ],
    })
  })

  it('no selection, no change, or an unknown image: exit 2 and nothing written', async () => {
    const dir = await cloneDataset(template)
    const before = await snapshot(dir)

    const none = await lora(['tag', '--add', 'x'], {cwd: dir})
    expect(none.code).toBe(2)
    expect(none.stdout).toBe('')
    expect(none.stderr).toContain('error: No images selected.')

    const nothing = await lora(['tag', '1'], {cwd: dir})
    expect(nothing.code).toBe(2)
    expect(nothing.stderr).toContain('error: Nothing to change.')

    // A value that holds no tag is named, not "nothing to change" (which said to give the --add it had).
    const empty = await lora(['tag', '1', '--add', ' , ,'], {cwd: dir})
    expect([empty.code, empty.stderr]).toEqual([
      2,
      'error: --add " , ," holds no tag.\nhint: Give tags separated by commas, e.g. --add "red hair,smile".\n',
    ])

    const unknown = await lora(['tag', '1', '99', '--add', 'x'], {cwd: dir})
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('error: No image matches "99".')

    const unknownName = await lora(['tag', 'nosuch.png', '--add', 'x'], {cwd: dir})
    expect(unknownName.code).toBe(2)
    expect(unknownName.stderr).toContain('No image matches "nosuch.png"')

    expect(await snapshot(dir)).toEqual(before)
  })
})

describe('lora next --print and lora next without a terminal', () => {
  let dir: string
  beforeAll(async () => {
    dir = await cloneDataset(template)
  })

  it('prints `<id>\\t<path>` of the next pending image', async () => {
    const r = await lora(['next', '--print'], {cwd: dir})
    expect(r).toMatchObject({code: 0, stdout: `img_0001\t${join(dir, 'output', 'img_0001.jpg')}\n`, stderr: ''})
    await loraOk(['tag', '1', '--add', 'a'], {cwd: dir})
    const after = await lora(['next', '--print'], {cwd: dir})
    expect(after.stdout).toBe(`img_0002\t${join(dir, 'output', 'img_0002.jpg')}\n`)
  })

  it('--json prints an object', async () => {
    const r = await lora(['next', '--print', '--json'], {cwd: dir})
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({
      id: 'img_0002',
      path: join(dir, 'output', 'img_0002.jpg'),
      source: 'plasma-Kite-screenshot.jpg',
      width: 400,
      height: 250,
    })
  })

  it('`lora next` without a terminal exits 2 and points to --print', async () => {
    const before = await snapshot(dir)
    const r = await lora(['next'], {cwd: dir})
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('--print')
    expect(await snapshot(dir)).toEqual(before)
  })

  it('prints nothing (null with --json) and exits 0 when no image is pending', async () => {
    await loraOk(['tag', '--pending', '--skip'], {cwd: dir})
    const r = await lora(['next', '--print'], {cwd: dir})
    expect(r).toMatchObject({code: 0, stdout: '', stderr: ''})
    const json = await lora(['next', '--print', '--json'], {cwd: dir})
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toBeNull()
  })
})

describe('lora status', () => {
  let dir: string
  beforeAll(async () => {
    dir = await cloneDataset(template)
    await loraOk(['tag', '--stdin'], {cwd: dir, input: '1\ta, b\n2\ta\n'})
    await loraOk(['tag', '3', '--skip'], {cwd: dir})
  })

  it('--json: counts, next, vocabulary, top tags, problems, duplicates, empty captions', async () => {
    const r = await lora(['status', '--json'], {cwd: dir})
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
    const s = JSON.parse(r.stdout)
    // The documented shape (README "lora status"), every key and no other.
    expect(Object.keys(s).sort()).toEqual([
      'changed',
      'curation',
      'dataset',
      'duplicates',
      'emptyCaptions',
      'git',
      'images',
      'missing',
      'next',
      'outputDir',
      'problems',
      'rescanned',
      'skipReasons',
      'topTags',
      'trigger',
      'vocabulary',
    ])
    expect(s).toMatchObject({git: null, rescanned: null, trigger: null, missing: [], changed: []})
    expect(s).toMatchObject({
      dataset: dir,
      outputDir: join(dir, 'output'),
      images: {total: 7, tagged: 2, skipped: 1, pending: 4, auto: 0},
      next: {id: 'img_0004', path: join(dir, 'output', 'img_0004.png')},
      vocabulary: {size: 2},
      topTags: [
        {tag: 'a', count: 2},
        {tag: 'b', count: 1},
      ],
      problems: [{source: TRUNCATED, reason: expect.stringMatching(/\S/u)}],
      duplicates: [],
      emptyCaptions: [],
    })
  })

  it('prints a readable summary on stdout', async () => {
    const r = await lora(['status'], {cwd: dir})
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
    const lines = r.stdout.split('\n')
    expect(lines).toContain(`Dataset: ${dir}`)
    expect(lines).toContain('Images:  7 total, 2 tagged, 1 skipped, 4 pending')
    expect(lines).toContain(`Next:    img_0004 (${join(dir, 'output', 'img_0004.png')})`)
    expect(lines).toContain('Vocabulary: 2 tags')
    expect(lines).toContain('Top tags: a (2), b (1)')
    expect(lines).toContain('Problem files (not imported): 1')
    expect(r.stdout).toContain(`  ${TRUNCATED}: `)
  })

  it('--rescan takes captions edited by another tool into the state, tags.txt and the counts', async () => {
    const edited = await cloneDataset(dir)
    const cap = (n: number) => join(edited, 'output', `${FIXTURE_FACTS[n - 1].file.replace(/\.\w+$/u, '')}.txt`)
    await fsp.writeFile(cap(1), '')
    await fsp.writeFile(cap(3), 'hand tag\n')
    await fsp.writeFile(cap(4), 'a, from elsewhere\n')
    const stale = await loraJson(['status'], {cwd: edited})
    expect(stale.images).toEqual({total: 7, tagged: 2, skipped: 1, pending: 4, auto: 0})
    expect(stale.rescanned).toBeNull()

    const r = await lora(['status', '--rescan', '--json'], {cwd: edited})
    expect(r.code).toBe(0)
    const s = JSON.parse(r.stdout)
    expect(s.rescanned).toEqual(['img_0001', 'img_0003', 'img_0004'])
    // img_0001 lost its tags (pending), img_0003 was skipped and now has a tag (tagged), img_0004 tagged.
    expect(s.images).toEqual({total: 7, tagged: 3, skipped: 0, pending: 4, auto: 0})
    expect(s.topTags).toEqual(
      expect.arrayContaining([
        {tag: 'a', count: 2},
        {tag: 'hand tag', count: 1},
        {tag: 'from elsewhere', count: 1},
      ]),
    )
    const state = await readState(edited)
    expect(state.images.slice(0, 4).map((i) => [i.status, i.tags])).toEqual([
      ['pending', []],
      ['tagged', ['a']],
      ['tagged', ['hand tag']],
      ['tagged', ['a', 'from elsewhere']],
    ])
    // tags.txt keeps every tag it had and gains the new ones.
    expect((await readText(join(edited, 'output', 'tags.txt'))).split('\n').filter(Boolean).sort()).toEqual([
      'a',
      'b',
      'from elsewhere',
      'hand tag',
    ])
    // The captions themselves are not rewritten.
    expect(await readText(cap(4))).toBe('a, from elsewhere\n')
    expect(await fsp.readdir(join(edited, '.lora-tagger'))).not.toContain('journal.json')

    const again = await lora(['status', '--rescan'], {cwd: edited})
    expect(again.code).toBe(0)
    expect(again.stderr).toBe('Rescan: every caption file matches the state.\n')
    expect(again.stdout).toContain('Images:  7 total, 3 tagged, 0 skipped, 4 pending')
  })

  it('--rescan waits for no one: a held lock is exit 5, and plain status still answers', async () => {
    const busy = await cloneDataset(dir)
    const sleeper = spawnSleeper()
    try {
      await fsp.writeFile(
        join(busy, '.lora-tagger', 'lock'),
        JSON.stringify({pid: sleeper.pid, host: hostname(), command: 'lora tag', since: new Date().toISOString()}) +
          '\n',
      )
      const r = await lora(['status', '--rescan'], {cwd: busy})
      expect(r.code).toBe(5)
      expect(r.stderr).toMatch(/^error: The dataset is busy: lora tag/mu)
      expect((await lora(['status'], {cwd: busy})).code).toBe(0)
    } finally {
      sleeper.kill()
    }
  })

  it('next is null once every image is tagged or skipped', async () => {
    const done = await cloneDataset(dir)
    await loraOk(['tag', '--pending', '--add', 'c'], {cwd: done})
    const s = await loraJson(['status'], {cwd: done})
    expect(s.next).toBeNull()
    expect(s.images).toEqual({total: 7, tagged: 6, skipped: 1, pending: 0, auto: 0})
    const text = await loraOk(['status'], {cwd: done})
    expect(text.stdout).toContain('Next:    none')
  })
})

describe('dataset discovery', () => {
  let dir: string
  let elsewhere: string
  beforeAll(async () => {
    dir = await cloneDataset(template)
    elsewhere = await tempDir('lora-elsewhere-')
  })

  const datasetOf = async (args: string[], cwd: string, env?: NodeJS.ProcessEnv) => {
    const r = await lora(['status', '--json', ...args], {cwd, env})
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    return JSON.parse(r.stdout).dataset as string
  }

  it('-C DIR and --dataset DIR', async () => {
    expect(await datasetOf(['-C', dir], elsewhere)).toBe(dir)
    expect(await datasetOf(['--dataset', dir], elsewhere)).toBe(dir)
  })

  it('LORA_DATASET', async () => {
    expect(await datasetOf([], elsewhere, {LORA_DATASET: dir})).toBe(dir)
  })

  it('from a subfolder of the dataset (walking up)', async () => {
    const deep = join(dir, 'output', 'nested')
    await fsp.mkdir(deep)
    expect(await datasetOf([], deep)).toBe(dir)
    await loraOk(['tag', '1', '--add', 'found'], {cwd: deep})
    expect(await caption(dir, 1)).toBe('found\n')
    await fsp.rmdir(deep)
  })

  it('from the parent folder when exactly one subfolder is a dataset', async () => {
    expect(await datasetOf([], dirname(dir))).toBe(dir)
  })

  it('exit 3 naming the candidates when two subfolders are datasets', async () => {
    const parent = await tempDir('lora-two-')
    await fsp.cp(template, join(parent, 'alpha'), {recursive: true})
    await fsp.cp(template, join(parent, 'beta'), {recursive: true})
    await fsp.mkdir(join(parent, 'plain'))
    const r = await lora(['status'], {cwd: parent})
    expect(r.code).toBe(3)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('alpha')
    expect(r.stderr).toContain('beta')
    expect(r.stderr).not.toContain('plain')
  })

  it('exit 3 when there is none (and for -C / LORA_DATASET pointing at a folder that is not a dataset)', async () => {
    const r = await lora(['status'], {cwd: elsewhere})
    expect(r.code).toBe(3)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^error: No lora dataset/mu)

    const c = await lora(['status', '-C', elsewhere], {cwd: dir})
    expect(c.code).toBe(3)
    expect(c.stderr).toContain(elsewhere)

    const env = await lora(['tag', '1', '--add', 'x'], {cwd: dir, env: {LORA_DATASET: elsewhere}})
    expect(env.code).toBe(3)
    expect(env.stderr).toContain('LORA_DATASET')
  })
})

describe('the writer lock', () => {
  it('a lock held by a live process: `lora tag` exits 5 naming the holder and writes nothing', async () => {
    const dir = await cloneDataset(template)
    const sleeper = spawnSleeper()
    try {
      const lock = JSON.stringify({pid: sleeper.pid, host: hostname(), command: 'test', since: 'now'})
      await fsp.writeFile(join(dir, '.lora-tagger', 'lock'), lock)
      const before = await snapshot(dir)
      const r = await lora(['tag', '1', '--add', 'x'], {cwd: dir})
      expect(r.code).toBe(5)
      expect(r.stdout).toBe('')
      expect(r.stderr).toContain(`test (pid ${sleeper.pid} on ${hostname()})`)
      expect(await snapshot(dir)).toEqual(before)
    } finally {
      sleeper.kill()
    }
  })

  it('a lock left by a dead process is reclaimed', async () => {
    const dir = await cloneDataset(template)
    const pid = await deadPid()
    await fsp.writeFile(
      join(dir, '.lora-tagger', 'lock'),
      JSON.stringify({pid, host: hostname(), command: 'test', since: 'now'}),
    )
    const r = await lora(['tag', '1', '--add', 'x'], {cwd: dir})
    expect(r.code).toBe(0)
    expect(await caption(dir, 1)).toBe('x\n')
    expect(await fsp.readdir(join(dir, '.lora-tagger'))).toEqual(expect.not.arrayContaining(['lock']))
  })
})

describe('config errors', () => {
  it('an unknown key in config.yaml: exit 1 naming the key, nothing written', async () => {
    const dir = await cloneDataset(template)
    await fsp.appendFile(join(dir, '.lora-tagger', 'config.yaml'), 'colour: blue\n')
    const before = await snapshot(dir)
    const status = await lora(['status'], {cwd: dir})
    expect(status.code).toBe(1)
    expect(status.stdout).toBe('')
    expect(status.stderr).toContain('"colour"')
    const tag = await lora(['tag', '1', '--add', 'x'], {cwd: dir})
    expect(tag.code).toBe(1)
    expect(tag.stderr).toContain('"colour"')
    expect(await snapshot(dir)).toEqual(before)
  })
})
