/**
 * A dataset from a stranger may hold anything in lora's own files and caches (README "Safety model"): what lora reads
 * back from them never leads a write out of the dataset, is never followed, and never reaches the terminal raw.
 * - an image's `sha256` in state.json that is not 64 hex digits (the gallery names thumbnails after it): refused;
 * - a gallery thumbnail that is a symbolic link (to a file outside) is replaced, not shown; a folder there is named;
 * - `lora ls --like` of an image that is a FIFO now, or changed by hand, says so (no "unexpected" error);
 * - the curation summary's counts and a prompt's generator from state.json print escaped, or not at all;
 * - a config.yaml longer than 64 Ki characters is refused before the YAML parser sees it;
 * - `lora export - --format csv` of a caption holding control characters is refused (caption-control), its tag named
 *   escaped, nothing on stdout, to a terminal or a pipe.
 * In-process (test/in-process.ts) on datasets made by `lora init` from the fixture photos; needs `npm run build`.
 */
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraIn, loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, removeTemp} from '../helpers.js'
import {snapshot} from '../e2e/e2e-helpers.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'skimage-horse.png']
/** ESC, a C1 CSI and a right-to-left override: what must never reach a terminal raw. */
const RAW = /[\u001b\u009b\u202e]/u

const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

/** A temp folder holding `imgs/` (a dataset made by `lora init`, two images tagged) and an empty `outside/`. */
async function setUp(): Promise<{root: string; outside: string}> {
  const tmp = await fsp.realpath(await makeTemp('lora-state-fields-'))
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  await loraInOk(['init', '.'], {cwd: root})
  await loraInOk(['tag', '1', '2', '--add', 'sky'], {cwd: root})
  const outside = join(tmp, 'outside')
  await fsp.mkdir(outside)
  await fsp.writeFile(join(outside, 'secret.png'), "the user's file\n")
  return {root, outside}
}

/** Edits state.json as a stranger would. */
async function editState(root: string, edit: (state: any) => void): Promise<void> {
  const path = join(root, '.lora-tagger', 'state.json')
  const state = JSON.parse(await fsp.readFile(path, 'utf8'))
  edit(state)
  await fsp.writeFile(path, JSON.stringify(state, null, 2))
}

describe("lora's own files as a stranger wrote them", () => {
  it("an image's sha256 that is a path: every command refuses the state file, the gallery writes nothing outside", async () => {
    const {root, outside} = await setUp()
    await editState(root, (s) => (s.images[1].sha256 = `../../../../../../../../${outside}/PWNED`))
    for (const args of [['gallery'], ['status']]) {
      const r = await loraIn(args, {cwd: root})
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain('images[1].sha256 is not 64 lowercase hex digits')
      expect(r.stderr).not.toMatch(/unexpected/u)
    }
    expect(await fsp.readdir(outside)).toEqual(['secret.png'])
  })

  it('a thumbnail replaced by a link to a file outside is made again as a file of its own; a folder there is named', async () => {
    const {root, outside} = await setUp()
    await loraInOk(['gallery'], {cwd: root})
    const thumbs = join(root, '.lora-tagger', 'gallery', 'thumbs')
    const name = (await fsp.readdir(thumbs)).sort()[0]
    await fsp.rm(join(thumbs, name))
    await fsp.symlink(join(outside, 'secret.png'), join(thumbs, name))
    const before = await snapshot(outside)
    const r = await loraInOk(['gallery', '--json'], {cwd: root})
    expect(JSON.parse(r.stdout)).toMatchObject({thumbnails: {made: 1, cached: 2}})
    const entry = await fsp.lstat(join(thumbs, name))
    expect(entry.isFile()).toBe(true)
    expect((await fsp.readFile(join(thumbs, name))).subarray(8, 12).toString('latin1')).toBe('WEBP')
    expect(await snapshot(outside)).toEqual(before)
    // A folder of a thumbnail's name: an error naming it, nothing removed.
    await fsp.rm(join(thumbs, name))
    await fsp.mkdir(join(thumbs, name))
    const folder = await loraIn(['gallery'], {cwd: root})
    expect(folder.code).toBe(1)
    expect(folder.stderr.split('\n')[0]).toBe(
      `error: ${join(thumbs, name)} is a folder where lora keeps a thumbnail; nothing was written.`,
    )
    expect(fs.statSync(join(thumbs, name)).isDirectory()).toBe(true)
  })

  it('lora ls --like of an image that is a FIFO now, or was changed by hand, says so', async () => {
    const {root} = await setUp()
    const file = join(root, 'output', 'img_0002.jpg')
    await fsp.rm(file)
    execFileSync('mkfifo', [file])
    const fifo = await loraIn(['ls', '--like', '2'], {cwd: root})
    expect(fifo.code).toBe(1)
    expect(fifo.stderr.split('\n')[0]).toBe(
      `error: img_0002 cannot be compared with: ${file} is not a regular file (fifo).`,
    )
    expect(fifo.stderr).toContain('hint: Run `lora status --rescan` to take in what changed, or name another image.')
    await fsp.rm(file)
    await fsp.copyFile(join(root, 'output', 'img_0001.jpg'), file)
    const changed = await loraIn(['ls', '--like', '2'], {cwd: root})
    expect(changed.code).toBe(1)
    expect(changed.stderr.split('\n')[0]).toMatch(
      /^error: img_0002 cannot be compared with: .* changed since lora recorded it/u,
    )
  })

  it("the curation summary's counts and a prompt's generator print escaped, or not at all", async () => {
    const {root} = await setUp()
    const summary = join(root, '.lora-tagger', 'cache', 'curate', 'summary.json')
    await fsp.mkdir(join(summary, '..'), {recursive: true})
    const hostile = '\u001b[2J\u009b31m \u202eevil'
    await fsp.writeFile(
      summary,
      JSON.stringify({
        analysedAt: '2026-01-01T00:00:00Z',
        analysed: 3,
        groups: 1,
        duplicates: 1,
        findings: {blurry: hostile},
      }),
    )
    const status = await loraInOk(['status'], {cwd: root})
    expect(status.stdout).not.toMatch(RAW)
    expect(status.stdout).not.toContain('Curation:')
    await editState(root, (s) => (s.images[2].prompt = {positive: 'p', negative: 'n', generator: `gen${hostile}`}))
    const show = await loraInOk(['show', '3'], {cwd: root})
    expect(show.stdout).not.toMatch(RAW)
    expect(show.stdout).toContain('(gen\\x1b[2J\\x9b31m <U+202E>evil)')
  })

  it('a config.yaml far longer than any config (a YAML parser could spend minutes on it): refused, naming its length', async () => {
    const {root} = await setUp()
    const config = join(root, '.lora-tagger', 'config.yaml')
    await fsp.appendFile(config, `# ${'x'.repeat(70 * 1024)}\n`)
    const r = await loraIn(['status'], {cwd: root})
    expect(r.code).toBe(1)
    expect(r.stderr.split('\n')[0]).toMatch(
      /^error: \.lora-tagger\/config\.yaml is [\d,]+ characters long; lora reads configs of up to 65,536\.$/u,
    )
  })

  it('lora export - --format csv of a caption with control characters: refused (caption-control), named escaped, nothing on stdout', async () => {
    const {root} = await setUp()
    await fsp.writeFile(join(root, 'output', 'img_0002.txt'), 'sky, evil\u001b]0;PWNED\u0007tag\n')
    for (const stdoutIsTTY of [true, false]) {
      const r = await loraIn(['export', '-', '--format', 'csv'], {cwd: root, stdoutIsTTY})
      expect([stdoutIsTTY, r.code, r.stdout]).toEqual([stdoutIsTTY, 1, ''])
      expect(r.stderr).not.toMatch(RAW)
      expect(r.stderr).toContain('tag "evil\\x1b]0;PWNED\\x07tag" holds a control character (U+001B)')
    }
  })
})

describe('more of what a stranger may write', () => {
  it('a stored reference vocabulary whose header is not one: refused as a damaged reference, never printed raw', async () => {
    const {root} = await setUp()
    const folder = join(root, '.lora-tagger', 'reference')
    await fsp.mkdir(folder, {recursive: true})
    const header = (json: string) => `# lora reference ${json}\nsky\t0\t10\t\n`
    for (const json of [
      JSON.stringify({name: 'e2', source: '/x', importedAt: 't', tags: '\u001b[31mT', filter: {minCount: '\u001b[5m'}}),
      'null',
      '{}',
      'x',
    ]) {
      await fsp.writeFile(join(folder, 'e2.tsv'), header(json))
      const r = await loraIn(['tags', 'import', '--list'], {cwd: root})
      expect(r.code).toBe(1)
      expect(r.stdout).not.toMatch(RAW)
      expect(r.stderr.split('\n')[0]).toMatch(
        /^error: The stored reference vocabulary's header (is not a JSON object|has no)/u,
      )
      expect(r.stderr).toContain('hint: Reimport it with `lora tags import FILE`.')
    }
  })

  it('two records of one image id in state.json: refused as damaged, naming both', async () => {
    const {root} = await setUp()
    await editState(root, (s) => {
      s.images[2].id = s.images[0].id
      s.images[2].file = `${s.images[0].id}.png`
    })
    const r = await loraIn(['tags', 'rm', 'sky'], {cwd: root})
    expect(r.code).toBe(1)
    expect(r.stderr.split('\n')[0]).toBe("error: .lora-tagger/state.json: images[2].id is also images[0]'s.")
  })

  it("an image id holding a line break (it forged a commit's Lora-Undoes trailer, hiding changes from lora undo): refused", async () => {
    const {root} = await setUp()
    await loraInOk(['git', 'enable'], {cwd: root})
    const head = () => execFileSync('git', ['rev-parse', 'HEAD'], {cwd: root, encoding: 'utf8'})
    const before = head()
    await editState(root, (s) => (s.images[2].id = `img_0003\n\nLora-Change: undo\nLora-Undoes: ${before.trim()}`))
    for (const args of [['curate', '--apply', '--rule', 'low-information'], ['tag', '1', '--add', 'x'], ['status']]) {
      const r = await loraIn(args, {cwd: root})
      expect([args, r.code]).toEqual([args, 1])
      expect(r.stderr.split('\n')[0]).toMatch(/^error: \.lora-tagger\/state\.json: images\[2\]\.id holds a control/u)
    }
    expect(head()).toBe(before)
  })

  it('an image file in state.json without an extension, or named as a caption: refused (exports lost a character of it)', async () => {
    const {root} = await setUp()
    for (const file of ['img_0003', 'img_0003.txt']) {
      await editState(root, (s) => (s.images[2].file = file))
      const r = await loraIn(['export', join(root, '..', `out-${file}`), '--target', 'ai-toolkit'], {cwd: root})
      expect(r.code).toBe(1)
      expect(r.stderr.split('\n')[0]).toBe(
        `error: .lora-tagger/state.json: image record img_0003 has file "${file}", which is not the image id followed by an image extension such as .jpg: it must name a file in the output folder; nothing was done.`,
      )
    }
  })

  it("fields of the wrong type that lora prints (an image's format, updatedAt; a duplicate's of): named, not 'unexpected'", async () => {
    const {root} = await setUp()
    for (const [edit, problem] of [
      [(s: any) => delete s.images[1].format, 'images[1].format is not a string'],
      [(s: any) => (s.images[1].updatedAt = 7), 'images[1].updatedAt is not a string or null'],
      [
        (s: any) => (s.duplicates = [{source: 'x.jpg', sha256: 'a'.repeat(64), of: 5}]),
        'duplicates[0].of is not a string',
      ],
    ] as const) {
      const path = join(root, '.lora-tagger', 'state.json')
      const before = await fsp.readFile(path, 'utf8')
      await editState(root, edit)
      for (const args of [['show', '2'], ['status']]) {
        const r = await loraIn(args, {cwd: root})
        expect([args, r.code, r.stderr.split('\n')[0]]).toEqual([
          args,
          1,
          `error: .lora-tagger/state.json: ${problem}.`,
        ])
      }
      await fsp.writeFile(path, before)
    }
  })

  it("a tag list larger than any (a 1 GB file made lora fail 'unexpected'): refused before it is read", async () => {
    const {root, outside} = await setUp()
    const big = join(outside, 'big.csv')
    await fsp.writeFile(big, 'ok,0,1,\n')
    await fsp.truncate(big, 101 * 2 ** 20)
    const r = await loraIn(['tags', 'import', big], {cwd: root})
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n')[0]).toBe(`error: ${big} is 101 MiB; lora imports tag lists of up to 100 MiB.`)
  })
})
