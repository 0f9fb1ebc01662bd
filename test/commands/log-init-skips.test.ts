/**
 * `lora log` (issue 13, "Small lies and silences"), in-process (test/in-process.ts, build first) with the real
 * `git` in temp folders: an `init` with a trigger word shows one `+ohwx` row per image, also when the user's git
 * configuration hides the first commit's diff (`log.showRoot=false`) or drops the `a/` `b/` prefixes
 * (`diff.noprefix`, `diff.mnemonicPrefix`); skips show as rows (`skipped`, and `unskipped` when undone), with
 * `statusBefore`/`status` in `--json`; `log IMAGE` includes the image's skips, `--tag` leaves them out.
 */
import {cleanupTemps, cloneDataset, copyFixtures, tempDir} from '../e2e/e2e-helpers.js'
import {join} from 'node:path'
import {DASH, git, gitLoraJson, gitLoraOk, head} from '../git-helpers.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'skimage-horse.png']

afterAll(cleanupTemps)

interface Event {
  commit: string
  subject: string
  id: string
  added: string[]
  removed: string[]
  statusBefore: string | null
  status: string | null
}
const brief = (events: Event[]) => events.map((e) => [e.commit.slice(0, 7), e.id, e.added, e.removed, e.status])

/** A dataset of three images made by `lora init --git --move --trigger ohwx`, and the hash of its commit. */
async function buildDataset(): Promise<{ds: string; init: string}> {
  const ds = join(await tempDir('lora-log-'), 'imgs')
  await copyFixtures(ds, IMAGES)
  await gitLoraOk(['init', '.', '--git', '--move', '--trigger', 'ohwx'], ds)
  return {ds, init: await head(ds)}
}

/** That dataset, made once for this file; each test gets a copy (every test writes: git config, tags, undo). */
let template: {ds: string; init: string}
beforeAll(async () => {
  template = await buildDataset()
})

/** A fresh copy of the dataset (files, state, repository: the same init commit), and the hash of that commit. */
async function dataset(): Promise<{ds: string; init: string}> {
  const ds = await cloneDataset(template.ds)
  expect(await head(ds)).toBe(template.init)
  return {ds, init: template.init}
}

/** The lines of `lora log` on stdout, the date and author columns collapsed to `…`. */
async function logLines(ds: string, args: string[] = []): Promise<string[]> {
  const out = (await gitLoraOk(['log', ...args], ds)).stdout
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^([0-9a-f]{7}) \d{4}-\d\d-\d\d Lora Tester {2}/u, '$1 … '))
}

describe('lora log after lora init', () => {
  it('one +trigger row per image for the init commit', async () => {
    const {ds, init} = await dataset()
    const short = init.slice(0, 7)
    expect(await logLines(ds)).toEqual([
      `${short} … img_0001  +ohwx`,
      `${short} … img_0002  +ohwx`,
      `${short} … img_0003  +ohwx`,
    ])
    const {events} = await gitLoraJson<{events: Event[]}>(['log'], ds)
    expect(events.map((e) => e.subject)).toEqual(Array(3).fill(`lora: init ${DASH} 3 images`))
  })

  it.each([
    ['log.showRoot', 'false'],
    ['diff.noprefix', 'true'],
    ['diff.mnemonicPrefix', 'true'],
  ])('the same with the repository configured %s=%s', async (key, value) => {
    const {ds, init} = await dataset()
    await git(ds, ['config', key, value])
    expect(await logLines(ds)).toEqual(
      ['img_0001', 'img_0002', 'img_0003'].map((id) => `${init.slice(0, 7)} … ${id}  +ohwx`),
    )
    // blame reads the same history.
    const blame = await gitLoraJson<{tags: {tag: string; commit: string | null}[]}>(['blame', '2'], ds)
    expect(blame.tags).toEqual([expect.objectContaining({tag: 'ohwx', commit: init})])
  })
})

describe('lora log shows skips', () => {
  it('a skip is a row of its own, a skip with tags joins their row; an undone skip is `unskipped`', async () => {
    const {ds, init} = await dataset()
    await gitLoraOk(['tag', '2', '--skip'], ds)
    const skip = (await head(ds)).slice(0, 7)
    await gitLoraOk(['tag', '3', '--add', 'horse', '--skip'], ds)
    const both = (await head(ds)).slice(0, 7)
    await gitLoraOk(['undo'], ds)
    const undo = (await head(ds)).slice(0, 7)
    const i = init.slice(0, 7)
    expect(await logLines(ds)).toEqual([
      `${undo} … img_0003  ${'\u2212'}horse unskipped`,
      `${both} … img_0003  +horse skipped`,
      `${skip} … img_0002  skipped`,
      `${i} … img_0001  +ohwx`,
      `${i} … img_0002  +ohwx`,
      `${i} … img_0003  +ohwx`,
    ])
    const {events} = await gitLoraJson<{events: Event[]}>(['log'], ds)
    expect(events.slice(0, 3).map((e) => [e.id, e.statusBefore, e.status, e.subject])).toEqual([
      ['img_0003', 'skipped', 'pending', `undo ${both}: tag img_0003: +horse`],
      ['img_0003', 'pending', 'skipped', 'tag img_0003: +horse'],
      ['img_0002', 'pending', 'skipped', 'skip img_0002'],
    ])
    expect(events.slice(3).every((e) => e.statusBefore === null && e.status === null)).toBe(true)

    // One image: its skip is there; --tag: tag changes only; -n counts the skip rows too.
    expect(brief((await gitLoraJson<{events: Event[]}>(['log', '2'], ds)).events)).toEqual([
      [skip, 'img_0002', [], [], 'skipped'],
      [i, 'img_0002', ['ohwx'], [], null],
    ])
    expect(brief((await gitLoraJson<{events: Event[]}>(['log', '--tag', 'horse'], ds)).events)).toEqual([
      [undo, 'img_0003', [], ['horse'], 'pending'],
      [both, 'img_0003', ['horse'], [], 'skipped'],
    ])
    expect(await logLines(ds, ['-n', '3'])).toHaveLength(3)
  })

  it('a status change between pending and tagged is no skip: no extra row', async () => {
    const {ds} = await dataset()
    await gitLoraOk(['tag', '1', '--add', 'sky'], ds)
    await gitLoraOk(['tag', '1', '--clear'], ds)
    const {events} = await gitLoraJson<{events: Event[]}>(['log', '1'], ds)
    expect(events.map((e) => [e.added, e.removed, e.status])).toEqual([
      [[], ['sky'], null],
      [['sky'], [], null],
      [['ohwx'], [], null],
    ])
  })
})
