/**
 * `lora next` shows its first prompt from the summary cache (store/summary-cache.ts), before state.json is parsed
 * (issue 18: the prompt on screen sooner), and reads the captions for the co-occurring tags after it is drawn
 * (TaggingItem.loadCaptions), or before it when the image has tags already. The session runs in-process with a UI
 * that records what it is given (src/services/tagging-session.ts); the dataset is real.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, removeTemp} from '../helpers.js'
import {runTaggingSession, type TaggingItem, type TaggingUi} from '../../src/services/tagging-session.js'
import {openDataset} from '../../src/store/dataset.js'
import {loadSummary} from '../../src/store/summary-cache.js'
import {DatasetError} from '../../src/errors.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'skimage-horse.png']
/** A whole second: state.json's modification time is set to it, so that it can be set back exactly. */
const STAMP = new Date('2026-01-01T00:00:00Z')

const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

/**
 * Three images, those numbered in `tagged` (img_0002 and img_0003 unless said) tagged `sky, cloud`; the summary
 * cached for img_0001 as the next image.
 */
async function dataset(tagged = ['2', '3']): Promise<string> {
  const tmp = await makeTemp('lora-next-summary-')
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  await loraInOk(['init', '.'], {cwd: root})
  for (const n of tagged) await loraInOk(['tag', n, '--add', 'sky, cloud'], {cwd: root})
  const state = join(root, '.lora-tagger', 'state.json')
  await fsp.utimes(state, STAMP, STAMP)
  await loadSummary(await openDataset(root))
  return root
}

/** A UI that answers `answer` and keeps the item it was shown, calling `atPresent` with it first. */
function recordingUi(answer: 'quit' | 'skip', atPresent: (item: TaggingItem) => void = () => {}) {
  const shown: TaggingItem[] = []
  const ui: TaggingUi = {
    present: async (item) => {
      atPresent(item)
      shown.push(item)
    },
    ask: async () => ({action: answer}),
    saved: () => {},
  }
  return {ui, shown}
}

const oftenTags = (item: TaggingItem, tags: string[]) => item.often(tags).map((o) => o.tag)

/** Overwrites a file in place with as many `x` bytes (same size and inode) and sets its time back to STAMP. */
async function breakInPlace(path: string): Promise<void> {
  const size = (await fsp.stat(path)).size
  const file = await fsp.open(path, 'r+')
  await file.write(Buffer.alloc(size, 'x'), 0, size, 0)
  await file.close()
  await fsp.utimes(path, STAMP, STAMP)
}

describe('lora next, the first prompt', () => {
  it('is shown before state.json is parsed: a state.json broken in place (same size and time) fails only after it', async () => {
    const root = await dataset()
    await breakInPlace(join(root, '.lora-tagger', 'state.json'))
    const {ui, shown} = recordingUi('quit')
    const error = await runTaggingSession(
      await openDataset(root),
      {
        ...ui,
        ask: async (item) => {
          // What the prompt does once drawn: the index (none here), then the captions.
          await item.loadSuggestions?.()
          await item.loadCaptions?.()
          return {action: 'quit'}
        },
      },
      {loop: false},
    ).catch((e: unknown) => e)
    expect(shown.map((i) => [i.image.id, i.counts.pending])).toEqual([['img_0001', 1]])
    expect(error).toBeInstanceOf(DatasetError)
    expect((error as DatasetError).message).toMatch(/^\.lora-tagger\/state\.json is not valid JSON/u)
  })

  it('reads the captions after it is drawn for an untagged image: co-occurring tags are offered once they are in', async () => {
    const root = await dataset()
    const {ui, shown} = recordingUi('quit', (item) => {
      expect(item.tags).toEqual([])
      expect(item.loadCaptions).toBeDefined()
      expect(oftenTags(item, ['sky'])).toEqual([])
    })
    await runTaggingSession(await openDataset(root), ui, {loop: false})
    expect(shown).toHaveLength(1)
    await shown[0].loadCaptions?.()
    expect(oftenTags(shown[0], ['sky'])).toEqual(['cloud'])
  })

  it('reads the captions before it is drawn for an image with tags: its co-occurring tags are there at once', async () => {
    const root = await dataset()
    // A caption written by hand: img_0001 stays pending with a tag.
    await fsp.writeFile(join(root, 'output', 'img_0001.txt'), 'sky\n')
    const offered: string[][] = []
    const {ui} = recordingUi('quit', (item) => {
      expect(item.tags).toEqual(['sky'])
      offered.push(oftenTags(item, item.tags))
    })
    await runTaggingSession(await openDataset(root), ui, {loop: false})
    expect(offered).toEqual([['cloud']])
  })

  it('does not take a cached record that state.json could not hold: the summary is made again', async () => {
    const root = await dataset()
    const cache = join(root, '.lora-tagger', 'cache', 'summary.json')
    const doc = JSON.parse(await fsp.readFile(cache, 'utf8')) as {
      summary: {next: {file: string}}
    }
    expect(doc.summary.next.file).toBe('img_0001.jpg')
    doc.summary.next.file = '../../outside.jpg'
    await fsp.writeFile(cache, JSON.stringify(doc))
    const {ui, shown} = recordingUi('quit')
    await runTaggingSession(await openDataset(root), ui, {loop: false})
    expect(shown.map((i) => i.path)).toEqual([join(root, 'output', 'img_0001.jpg')])
  })
  it('an image with tags and a state.json that cannot be read: the error comes before the prompt, not after typing', async () => {
    const root = await dataset()
    await fsp.writeFile(join(root, 'output', 'img_0001.txt'), 'sky\n')
    await loadSummary(await openDataset(root))
    await breakInPlace(join(root, '.lora-tagger', 'state.json'))
    const {ui, shown} = recordingUi('quit')
    const error = await runTaggingSession(await openDataset(root), ui, {loop: false}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DatasetError)
    expect(shown).toEqual([])
  })

  it('after a save the summary is current again (the session moved on): the next run takes it as it is', async () => {
    const root = await dataset()
    const {ui} = recordingUi('skip')
    await runTaggingSession(await openDataset(root), ui, {loop: false})
    const cache = join(root, '.lora-tagger', 'cache', 'summary.json')
    const before = await fsp.stat(cache)
    const summary = await loadSummary(await openDataset(root))
    const after = await fsp.stat(cache)
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs])
    expect(summary.images).toMatchObject({skipped: 1, pending: 0})
  })

  it.each([
    ['no summary', (doc: {summary: unknown}) => (doc.summary = null)],
    ['a count below 1', (doc: {summary: {tagCounts: [string, number][]}}) => (doc.summary.tagCounts[0][1] = -1)],
    ['a count that is not a number', (doc: {summary: {tagCounts: unknown[][]}}) => (doc.summary.tagCounts[0][1] = '2')],
  ])('a cached summary with %s is made again, not used', async (_, damage) => {
    const root = await dataset()
    const cache = join(root, '.lora-tagger', 'cache', 'summary.json')
    const doc = JSON.parse(await fsp.readFile(cache, 'utf8')) as {summary: {tagCounts: [string, number][]}}
    ;(damage as (d: typeof doc) => void)(doc)
    await fsp.writeFile(cache, JSON.stringify(doc))
    const summary = await loadSummary(await openDataset(root))
    expect(summary.tagCounts).toEqual([
      ['sky', 2],
      ['cloud', 2],
    ])
  })
})

describe('lora resume, the images after a save', () => {
  /** Three images, only img_0003 tagged (`sky, cloud`): img_0001 and img_0002 pending. */
  const twoPending = () => dataset(['3'])

  it('each next image comes from the summary the save refreshed: state.json is not read again before its prompt', async () => {
    const root = await twoPending()
    const ds = await openDataset(root)
    const loadState = ds.loadState.bind(ds)
    let reads = 0
    ds.loadState = () => {
      reads++
      return loadState()
    }
    const readsAt: Record<string, number> = {}
    const shown: string[] = []
    const result = await runTaggingSession(
      ds,
      {
        present: async (item) => {
          shown.push(item.image.id)
          readsAt[`present ${item.image.id}`] = reads
        },
        ask: async (item) => (item.image.id === 'img_0001' ? {action: 'save', tags: ['rain']} : {action: 'skip'}),
        saved: (handled) => {
          readsAt[`saved ${handled.id}`] = reads
        },
      },
      {loop: true},
    )
    expect(shown).toEqual(['img_0001', 'img_0002'])
    expect(result.images).toMatchObject({tagged: 2, skipped: 1, pending: 0})
    // The save reads the state once, inside its transaction; nothing more until the next prompt is drawn.
    expect(readsAt['present img_0002']).toBe(readsAt['saved img_0001'])
  })

  it('co-occurring tags on a later image include what this run saved, though the captions were read before it', async () => {
    const root = await twoPending()
    const offered: string[][] = []
    await runTaggingSession(
      await openDataset(root),
      {
        present: async () => {},
        ask: async (item) => {
          await item.loadCaptions?.()
          if (item.image.id === 'img_0001') return {action: 'save', tags: ['rain', 'sky']}
          // `rain` goes with `sky` only in img_0001's caption, which this run saved.
          offered.push(oftenTags(item, ['sky']))
          return {action: 'quit'}
        },
        saved: () => {},
      },
      {loop: true},
    )
    expect(offered).toEqual([['cloud', 'rain']])
  })

  it('an image whose file went away during the run is passed over, said once', async () => {
    const root = await twoPending()
    const skipped: string[][] = []
    const shown: string[] = []
    const result = await runTaggingSession(
      await openDataset(root),
      {
        present: async (item) => {
          shown.push(item.image.id)
        },
        ask: async () => {
          await fsp.rm(
            join(
              root,
              'output',
              (await fsp.readdir(join(root, 'output'))).find((f) => /^img_0002\.(?!txt)/u.test(f))!,
            ),
          )
          return {action: 'save', tags: ['rain']}
        },
        saved: () => {},
        skippedMissing: (list) => {
          skipped.push(list.map((m) => m.id))
        },
      },
      {loop: true},
    )
    expect(shown).toEqual(['img_0001'])
    expect(skipped).toEqual([['img_0002']])
    expect(result.nothingPending).toBe(false)
  })
})
