/**
 * Terminal safety, the ways in (issue 12 rule 7; README "Safety model"): a tag holding a control character
 * (U+0000–U+001F, U+007F–U+009F) or a bidi control (U+202A–U+202E, U+2066–U+2069) is refused wherever tags come in,
 * naming the tag escaped, and nothing changes; captions found on disk holding one are listed as problems by `init`
 * and `status --rescan`; `lora validate` reports them (rule control-character). Run in-process (test/in-process.ts)
 * on real datasets made by `lora init` from the fixture photos. Needs `npm run build` (commands load from dist/).
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraIn, loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, readState, removeTemp, sha256} from '../helpers.js'
import {snapshot} from '../e2e/e2e-helpers.js'
import {git, gitLora, gitLoraOk, head, MINUS} from '../git-helpers.js'
import {runTaggingSession} from '../../src/services/tagging-session.js'
import {openDataset} from '../../src/store/dataset.js'
import {UsageError} from '../../src/errors.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'skimage-horse.png']
/** An OSC 52 clipboard write ("pwned"), the classic terminal escape injection. */
const OSC52 = 'x\u001b]52;c;cHduZWQ=\u0007'
const OSC52_SHOWN = 'x\\x1b]52;c;cHduZWQ=\\x07'
const RLO = 'smile\u202e'
const RLO_SHOWN = 'smile<U+202E>'
/** Any raw control or bidi character (what must never reach the terminal). */
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u

const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

/** A dataset made by `lora init` on the three images; returns its folder. */
async function dataset(extra: Record<string, string> = {}): Promise<string> {
  const tmp = await makeTemp('lora-trust-')
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  for (const [name, text] of Object.entries(extra)) await fsp.writeFile(join(root, name), text)
  await loraInOk(['init', '.'], {cwd: root})
  return root
}

/** Runs and checks the refusal: exit code, the exact error line, no raw control character in the output. */
async function refused(root: string, args: string[], code: number, error: string, input?: string) {
  const before = await snapshot(root)
  const result = await loraIn(args, {cwd: root, input})
  expect(result.stderr.split('\n')[0]).toBe(`error: ${error}`)
  expect(result.stderr).toMatch(/\nhint: .*Safety model/u)
  expect(result.code).toBe(code)
  expect(result.stdout).toBe('')
  expect(result.stderr).not.toMatch(RAW)
  expect(await snapshot(root)).toEqual(before)
}

describe('tags with control or bidi characters are refused at every way in', () => {
  let root: string
  beforeAll(async () => {
    root = await dataset()
    await loraInOk(['tag', '1', '--add', 'sky'], {cwd: root})
  })

  it('lora tag --add, --set and --stdin (exit 2, nothing written)', async () => {
    await refused(
      root,
      ['tag', '1', '--add', `ok,${OSC52}`],
      2,
      `--add: tag "${OSC52_SHOWN}" holds a control character (U+001B).`,
    )
    await refused(
      root,
      ['tag', '2', '--set', `a, ${RLO}`],
      2,
      `--set: tag "${RLO_SHOWN}" holds a bidirectional control character (U+202E).`,
    )
    await refused(
      root,
      ['tag', '--all', '--add', 'bell\u0007'],
      2,
      '--add: tag "bell\\x07" holds a control character (U+0007).',
    )
    await refused(
      root,
      ['tag', '1', '--add', 'c1\u009b2J'],
      2,
      '--add: tag "c1\\x9b2J" holds a control character (U+009B).',
    )
    // Every line is checked before any is applied: the good first line is not written either.
    await refused(
      root,
      ['tag', '--stdin'],
      2,
      `stdin line 2: tag "${RLO_SHOWN}" holds a bidirectional control character (U+202E).`,
      `img_0001\tfine\nimg_0002\tok, ${RLO}\n`,
    )
  })

  it('the next/resume save refuses them whatever the UI (the prompt already refuses them as typed)', async () => {
    const fresh = await dataset()
    const before = await snapshot(fresh)
    const ui = {
      present: async () => {},
      ask: async () => ({action: 'save' as const, tags: ['ok', OSC52]}),
      saved: () => {},
    }
    const error = await runTaggingSession(await openDataset(fresh), ui, {loop: false}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).message).toBe(
      `tags for img_0001: tag "${OSC52_SHOWN}" holds a control character (U+001B).`,
    )
    expect(await snapshot(fresh)).toEqual(before)
  })

  it('lora tags add and tags rename NEW (exit 2); a bad OLD can be renamed or removed, to clean it up', async () => {
    await refused(
      root,
      ['tags', 'add', 'fine', 'isolate\u2066x\u2069'],
      2,
      'lora tags add: tag "isolate<U+2066>x<U+2069>" holds a bidirectional control character (U+2066).',
    )
    await refused(
      root,
      ['tags', 'rename', 'sky', `sky${OSC52}`],
      2,
      `lora tags rename: tag "sky${OSC52_SHOWN}" holds a control character (U+001B).`,
    )

    // A caption edited by hand holding such a tag: lora lets it be removed and renamed away.
    const clean = await dataset()
    await fsp.writeFile(join(clean, 'output', 'img_0001.txt'), `sky, ${OSC52}\n`)
    await fsp.writeFile(join(clean, 'output', 'img_0002.txt'), `sea, ${RLO}\n`)
    const removed = await loraInOk(['tag', '1', '--remove', OSC52], {cwd: clean})
    expect(removed.stdout).toBe(`img_0001: -${OSC52_SHOWN} [pending → tagged]\n`)
    expect(await fsp.readFile(join(clean, 'output', 'img_0001.txt'), 'utf8')).toBe('sky\n')
    const renamed = await loraInOk(['tags', 'rename', RLO, 'smile', '--dry-run'], {cwd: clean})
    expect(renamed.stdout).toBe(`img_0002.jpg: -${RLO_SHOWN} +smile\n`)
    // The hand-edited caption's tags join tags.txt with the edit, and the summary says so.
    expect(renamed.stderr).toBe(
      `Renamed "${RLO_SHOWN}" → "smile" in 1 caption; tags.txt: added "sea", "smile" (dry run; nothing written).\n`,
    )
    expect(renamed.stdout + renamed.stderr).not.toMatch(RAW)
  })

  it('lora tags import: a row whose tag or alias holds one refuses the whole file (exit 1, nothing imported)', async () => {
    const list = join(root, '..', 'list.txt')
    await fsp.writeFile(list, `long hair\n# comment\n${OSC52}\nsmile\n`)
    await refused(
      root,
      ['tags', 'import', list],
      1,
      `${list}, line 3: tag "${OSC52_SHOWN}" holds a control character (U+001B). Nothing was imported.`,
    )
    const csv = join(root, '..', 'tags.csv')
    await fsp.writeFile(csv, `long_hair,0,100,"longhair,lh"\nsmile,0,50,"grin,${RLO}"\n`)
    await refused(
      root,
      ['tags', 'import', csv],
      1,
      `${csv}, line 2: tag "${RLO_SHOWN}" holds a bidirectional control character (U+202E). Nothing was imported.`,
    )
    await expect(fsp.stat(join(root, '.lora-tagger', 'reference'))).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('init --prefix and --trigger, export --class (exit 2, nothing created)', async () => {
    const tmp = await makeTemp('lora-trust-')
    temps.push(tmp)
    const fresh = join(tmp, 'imgs')
    await copyFixtures(fresh, IMAGES)
    const originals = await Promise.all(IMAGES.map((n) => sha256(join(fresh, n))))
    await refused(
      fresh,
      ['init', '.', '--prefix', 'img\u001b[2J_'],
      2,
      '--prefix "img\\x1b[2J_" holds a control or bidirectional character (U+001B).',
    )
    await refused(
      fresh,
      ['init', '.', '--trigger', `oh${RLO}`],
      2,
      `--trigger "oh${RLO_SHOWN}" holds a control or bidirectional character (U+202E).`,
    )
    expect(await fsp.readdir(fresh)).toEqual([...IMAGES].sort())
    expect(await Promise.all(IMAGES.map((n) => sha256(join(fresh, n))))).toEqual(originals)
    await refused(
      root,
      ['export', join(tmp, 'train'), '--repeats', '5', '--class', `wo${RLO}man`],
      2,
      `--class "wo${RLO_SHOWN}man" holds a control or bidirectional character (U+202E).`,
    )
    await expect(fsp.stat(join(tmp, 'train'))).rejects.toMatchObject({code: 'ENOENT'})
  })
})

describe('captions found on disk holding them are listed as problems', () => {
  it('init does not adopt such a caption: the image is listed (escaped) and imported once it is fixed', async () => {
    const root = await dataset({
      'plasma-Kite-screenshot.txt': `kite, ${OSC52}\n`,
      'skimage-horse.txt': 'horse, grass\n',
    })
    const state = await readState(root)
    expect(state.images.map((i) => [i.source, i.status, i.tags])).toEqual([
      ['plasma-Autumn-screenshot.jpg', 'pending', []],
      ['skimage-horse.png', 'tagged', ['horse', 'grass']],
    ])
    const reason = `its caption plasma-Kite-screenshot.txt: tag "${OSC52_SHOWN}" holds a control character (U+001B); remove that character from the caption, then run lora init again`
    expect(state.problems).toEqual([{source: 'plasma-Kite-screenshot.jpg', reason}])
    expect(await fsp.readFile(join(root, 'output', 'tags.txt'), 'utf8')).toBe('grass\nhorse\n')

    const status = await loraInOk(['status'], {cwd: root})
    expect(status.stdout).toContain(`Problem files (not imported): 1\n  plasma-Kite-screenshot.jpg: ${reason}\n`)
    expect(status.stdout).not.toMatch(RAW)
    const json = JSON.parse((await loraInOk(['status', '--json'], {cwd: root})).stdout)
    expect(json.problems).toEqual([{source: 'plasma-Kite-screenshot.jpg', reason}])
    // --strict makes it an error, changing nothing.
    await fsp.rm(join(root, '.lora-tagger'), {recursive: true})
    await fsp.rm(join(root, 'output'), {recursive: true})
    const strict = await loraIn(['init', '.', '--strict'], {cwd: root})
    expect(strict.code).toBe(1)
    expect(strict.stderr).toContain(`plasma-Kite-screenshot.jpg (${reason})`)
    expect(strict.stderr).not.toMatch(RAW)
    expect((await fsp.readdir(root)).sort()).toEqual(
      [...IMAGES, 'plasma-Kite-screenshot.txt', 'skimage-horse.txt'].sort(),
    )

    await loraInOk(['init', '.'], {cwd: root})
    await fsp.writeFile(join(root, 'plasma-Kite-screenshot.txt'), 'kite, sky\n')
    const rerun = JSON.parse((await loraInOk(['init', '.', '--json'], {cwd: root})).stdout)
    expect(rerun.added).toMatchObject([{source: 'plasma-Kite-screenshot.jpg', status: 'tagged', tags: ['kite', 'sky']}])
    expect((await readState(root)).problems).toEqual([])
  })

  it('status --rescan does not take such a caption in: its image keeps its tags and the caption is listed', async () => {
    const root = await dataset()
    await loraInOk(['tag', '2', '--add', 'kite'], {cwd: root})
    await fsp.writeFile(join(root, 'output', 'img_0001.txt'), 'autumn, leaves\n')
    await fsp.writeFile(join(root, 'output', 'img_0002.txt'), `kite, ${RLO}\n`)
    const report = JSON.parse((await loraInOk(['status', '--rescan', '--json'], {cwd: root})).stdout)
    const reason = `tag "${RLO_SHOWN}" holds a bidirectional control character (U+202E); not taken in (img_0002 keeps its tags): remove that character from the caption, then run lora status --rescan again`
    expect(report.rescanned).toEqual(['img_0001'])
    expect(report.problems).toEqual([{source: 'output/img_0002.txt', reason}])
    const state = await readState(root)
    expect(state.images.map((i) => i.tags)).toEqual([['autumn', 'leaves'], ['kite'], []])
    expect(await fsp.readFile(join(root, 'output', 'tags.txt'), 'utf8')).toBe('autumn\nkite\nleaves\n')
    // The caption itself is left as it is.
    expect(await fsp.readFile(join(root, 'output', 'img_0002.txt'), 'utf8')).toBe(`kite, ${RLO}\n`)
    const human = await loraInOk(['status', '--rescan'], {cwd: root})
    expect(human.stdout).toContain(`  output/img_0002.txt: ${reason}\n`)
    expect(human.stdout + human.stderr).not.toMatch(RAW)
  })
})

describe('edits never take in such a caption either (the rule status --rescan applies)', () => {
  /** The hand-edited caption of the report: a screen clear. */
  const CLEAR = 'red\u001b[2J'
  const CLEAR_SHOWN = 'red\\x1b[2J'
  const problem = (id: string) => `${id} (output/${id}.txt: tag "${CLEAR_SHOWN}" holds a control character (U+001B))`

  /** No control character in the state's tags or in tags.txt. */
  async function nothingTakenIn(root: string) {
    expect(await fsp.readFile(join(root, '.lora-tagger', 'state.json'), 'utf8')).not.toMatch(/\\u001b/iu)
    expect(await fsp.readFile(join(root, 'output', 'tags.txt'), 'utf8')).not.toMatch(RAW)
  }

  /** Runs and checks a refusal of an edit: exit 1, the exact error line, nothing changed, nothing raw printed. */
  async function refusedEdit(root: string, args: string[], error: string) {
    const before = await snapshot(root)
    const result = await loraIn(args, {cwd: root})
    expect(result.stderr.split('\n')[0]).toBe(`error: ${error}`)
    expect(result.stderr).toMatch(/\nhint: Remove that character .*lora status --rescan/u)
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).not.toMatch(RAW)
    expect(await snapshot(root)).toEqual(before)
  }

  it('lora tag and the dataset-wide tags edits refuse an edit that keeps the tag; untouched captions are not taken in', async () => {
    const root = await dataset()
    await loraInOk(['tag', '3', '--add', 'sky'], {cwd: root})
    await fsp.writeFile(join(root, 'output', 'img_0001.txt'), `${CLEAR}, blue\n`)
    await fsp.writeFile(join(root, 'output', 'img_0002.txt'), `${CLEAR}, blue\n`)
    const one = `A caption holds a tag lora does not take in: ${problem('img_0001')}. Nothing was written.`
    await refusedEdit(root, ['tag', '1', '--add', 'z'], one)
    await refusedEdit(root, ['tag', '1', '--add', 'z', '--dry-run'], one)
    // The tag is not touched by the edit, only the status would change: refused the same.
    await refusedEdit(
      root,
      ['tag', '2', '--remove', 'x'],
      `A caption holds a tag lora does not take in: ${problem('img_0002')}. Nothing was written.`,
    )
    const both = `2 captions hold tags lora does not take in: ${problem('img_0001')}; ${problem('img_0002')}. Nothing was written.`
    await refusedEdit(root, ['tags', 'rename', 'blue', 'navy'], both)
    await refusedEdit(root, ['tags', 'normalize'], both)
    await nothingTakenIn(root)

    // A dataset-wide edit that leaves those captions alone goes ahead; their images keep the state's tags.
    await loraInOk(['tags', 'rename', 'sky', 'sea'], {cwd: root})
    expect((await readState(root)).images.map((i) => i.tags)).toEqual([[], [], ['sea']])
    await nothingTakenIn(root)
    // status --rescan says the same of them.
    const rescan = JSON.parse((await loraInOk(['status', '--rescan', '--json'], {cwd: root})).stdout)
    expect(rescan.problems.map((p: {source: string}) => p.source)).toEqual([
      'output/img_0001.txt',
      'output/img_0002.txt',
    ])
    // Removing the tag in the edit is fine (as before).
    await loraInOk(['tag', '1', '--remove', CLEAR], {cwd: root})
    expect(await fsp.readFile(join(root, 'output', 'img_0001.txt'), 'utf8')).toBe('blue\n')
    await nothingTakenIn(root)
  })

  it('lora undo refuses to bring back such a caption (exit 1, nothing changed)', async () => {
    const tmp = await makeTemp('lora-trust-')
    temps.push(tmp)
    const root = join(tmp, 'imgs')
    await copyFixtures(root, IMAGES)
    await gitLoraOk(['init', '.', '--git'], root)
    // Written by hand and committed with git (a rescan would not take it in), then replaced by a lora edit.
    await fsp.writeFile(join(root, 'output', 'img_0001.txt'), `${CLEAR}, blue\n`)
    await git(root, ['commit', '-qam', 'hand edit'])
    await gitLoraOk(['tag', '1', '--set', 'blue'], root)
    const last = await head(root)
    const files = ['output/img_0001.txt', 'output/tags.txt', '.lora-tagger/state.json']
    const before = await Promise.all(files.map((f) => fsp.readFile(join(root, f), 'utf8')))

    const result = await gitLora(['undo'], root)
    expect(result.stderr.split('\n')[0]).toBe(
      `error: Cannot undo ${last.slice(0, 7)} "tag img_0001: ${MINUS}${CLEAR_SHOWN}": it would bring back a caption holding a tag lora does not take in: ${problem('img_0001')}. Nothing was written.`,
    )
    expect(result.stderr).toContain(`hint: Edit the caption instead (lora tag img_0001 --set "...")`)
    expect(result.code).toBe(1)
    expect(result.stdout + result.stderr).not.toMatch(RAW)
    expect(await head(root)).toBe(last)
    expect(await Promise.all(files.map((f) => fsp.readFile(join(root, f), 'utf8')))).toEqual(before)
    await nothingTakenIn(root)
  })
})

describe('lora validate: control-character', () => {
  it('is an error naming the file, the character and the line; shown escaped in every format', async () => {
    const root = await dataset()
    await loraInOk(['tag', '--all', '--add', 'photo'], {cwd: root})
    await fsp.writeFile(join(root, 'output', 'img_0001.txt'), `photo, ${OSC52}\n`)
    await fsp.writeFile(join(root, 'output', 'img_0003.txt'), `photo\nsecond, ${RLO}\n`)
    const json = await loraIn(['validate', '--json'], {cwd: root})
    expect(json.code).toBe(4)
    const report = JSON.parse(json.stdout)
    expect(report.rules['control-character']).toBe('error')
    const found = report.findings.filter((f: {rule: string}) => f.rule === 'control-character')
    expect(found).toEqual([
      {
        rule: 'control-character',
        severity: 'error',
        path: 'img_0001.txt',
        message: 'img_0001.txt holds a control character (U+001B, shown as \\x1b) on line 1.',
        hint: expect.stringContaining('Remove the character'),
      },
      {
        rule: 'control-character',
        severity: 'error',
        path: 'img_0003.txt',
        message: 'img_0003.txt holds a bidirectional control character (U+202E, shown as <U+202E>) on line 2.',
        hint: expect.any(String),
      },
    ])
    const human = await loraIn(['validate'], {cwd: root})
    expect(human.code).toBe(4)
    expect(human.stdout).toContain('error   control-character (2): a caption holds a control character')
    expect(human.stdout).toContain('  img_0001.txt holds a control character (U+001B, shown as \\x1b) on line 1.\n')
    expect(human.stdout + human.stderr).not.toMatch(RAW)
    const github = await loraIn(['validate', '--format', 'github'], {cwd: root})
    expect(github.stdout).toContain(
      '::error file=output/img_0001.txt,title=lora validate%3A control-character::img_0001.txt holds a control character',
    )
    expect(github.stdout + github.stderr).not.toMatch(RAW)
    // Tab and line breaks are other rules' business (whitespace, multiline-caption), not this one's.
    await fsp.writeFile(join(root, 'output', 'img_0001.txt'), 'photo,\tx\r\n')
    await fsp.writeFile(join(root, 'output', 'img_0003.txt'), 'photo\n')
    const clean = JSON.parse((await loraIn(['validate', '--json'], {cwd: root})).stdout)
    expect(clean.findings.map((f: {rule: string}) => f.rule)).not.toContain('control-character')
  })
})
