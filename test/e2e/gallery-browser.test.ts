/**
 * `lora gallery`'s page in a real browser (issue 17): headless Chromium (Debian's `chromium`, driven by
 * puppeteer-core) loads the page from file:// for datasets of real photos, counts one card per image, filters by a
 * tag (`red hair -hat`) and by status, opens an image (the dataset's own file loads), goes through the keyboard
 * paths, checks that dataset text holding `<script>`/`"` is inert, and saves a screenshot that must not be blank;
 * light/dark follows prefers-color-scheme; curation groups and findings show when the page's data has them.
 * Every request the page makes is intercepted: anything but file: and data: fails the test (the page works
 * offline). Without Chromium (LORA_CHROMIUM, else /usr/bin/chromium) these tests are reported as skipped with the
 * reason; `.ci/run` installs it. `LORA_GALLERY_SCREENSHOT=FILE` also writes the screenshot there (`npm run
 * screenshot` regenerates docs/gallery.png so).
 * The gallery is made in-process (test/in-process.ts); needs `npm run build`.
 */
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import puppeteer, {type Browser, type Page} from 'puppeteer-core'
import sharp from 'sharp'
import {loraInOk} from '../in-process.js'
import {copyFixtures, FIXTURES, GOOD_FIXTURES, itIf, itShared, makeTemp, removeTemp, SHARED_DATA} from '../helpers.js'
import {A1111_TEXT, pngWithText} from '../genmeta-helpers.js'

const CHROMIUM = process.env.LORA_CHROMIUM ?? '/usr/bin/chromium'
const CHROMIUM_MISSING = fs.existsSync(CHROMIUM)
  ? undefined
  : `needs Chromium at ${CHROMIUM} (apt-get install chromium, or set LORA_CHROMIUM)`
const HOSTILE = '<script>window.__pwned = 1</script> "quoted" <img src=x onerror="window.__pwned = 2">'

let browser: Browser | undefined
let tmp: string

beforeAll(async () => {
  if (CHROMIUM_MISSING) return
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  })
}, 60_000)
afterAll(async () => {
  await browser?.close()
})
beforeEach(async () => {
  tmp = await fsp.realpath(await makeTemp('lora-gallery-browser-'))
})
afterEach(() => removeTemp(tmp))

/** A page of the browser whose every request but file: and data: is aborted and recorded in `offline`. */
async function openPage(file: string): Promise<{page: Page; offline: string[]; errors: string[]}> {
  if (!browser) throw new Error('no browser')
  const page = await browser.newPage()
  await page.setViewport({width: 1200, height: 900})
  const offline: string[] = []
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(String(error)))
  await page.setRequestInterception(true)
  page.on('request', (request) => {
    const url = request.url()
    if (url.startsWith('file:') || url.startsWith('data:')) void request.continue()
    else {
      offline.push(url)
      void request.abort()
    }
  })
  await page.goto(pathToFileURL(file).href, {waitUntil: 'load'})
  return {page, offline, errors}
}

/** The number of cards shown. */
const cardCount = (page: Page) => page.$$eval('#grid .card', (cards) => cards.length)

/** Sets the filter box as typing would (an input event). */
async function filterBy(page: Page, text: string): Promise<void> {
  await page.$eval('#filter', (input) => {
    ;(input as HTMLInputElement).value = ''
    input.dispatchEvent(new Event('input'))
  })
  await page.type('#filter', text)
}

/** Every thumbnail on the page has loaded and decoded. */
async function thumbnailsLoaded(page: Page): Promise<void> {
  await page.$$eval('#grid .card img', (imgs) => imgs.forEach((img) => img.setAttribute('loading', 'eager')))
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll<HTMLImageElement>('#grid .card img')).every(
      (img) => img.complete && img.naturalWidth > 0,
    ),
  )
}

/** The spread of a screenshot's pixels (sharp's per-channel standard deviation, the largest): 0 for a blank one. */
async function pixelSpread(png: Uint8Array): Promise<number> {
  const stats = await sharp(png).stats()
  return Math.max(...stats.channels.slice(0, 3).map((c) => c.stdev))
}

/**
 * A dataset (folder name holding HTML) of the fixture photos: img_0001 `red hair`+`hat`, img_0002 `red hair`,
 * img_0003 `red hair` with the hostile tag, img_0004 skipped, img_0008 a PNG with an AUTOMATIC1111 prompt; the others
 * pending.
 */
async function fixtureDataset(): Promise<string> {
  const root = join(tmp, 'ds <b>"x"')
  await copyFixtures(root, GOOD_FIXTURES)
  await fsp.writeFile(
    join(root, 'zz-generated.png'),
    await pngWithText([{type: 'tEXt', key: 'parameters', text: A1111_TEXT}]),
  )
  await loraInOk(['init', '.', '--trigger', 'ohwx'], {cwd: root})
  await loraInOk(['tag', '1', '--add', 'red hair, hat'], {cwd: root})
  await loraInOk(['tag', '2', '--add', 'red hair'], {cwd: root})
  await loraInOk(['tag', '3', '--add', `red hair, ${HOSTILE}`], {cwd: root})
  await loraInOk(['tag', '4', '--skip'], {cwd: root})
  return root
}

/** A dataset of the first three fixture photos, imported, nothing tagged (`tmp/ds`). */
async function threeImageDataset(): Promise<string> {
  const root = join(tmp, 'ds')
  await copyFixtures(root, GOOD_FIXTURES.slice(0, 3))
  await loraInOk(['init', '.'], {cwd: root})
  return root
}

itIf(
  CHROMIUM_MISSING,
  'fixture photos: cards, tag and status filters, the large image, keyboard, inert text, screenshot',
  async () => {
    const root = await fixtureDataset()
    // Outside the dataset, so that the images' URLs hold the dataset folder's name (percent-encoded).
    const dest = join(tmp, 'gallery')
    await loraInOk(['gallery', dest], {cwd: root})
    const {page, offline, errors} = await openPage(join(dest, 'index.html'))
    expect(await cardCount(page)).toBe(8)
    expect(await page.$eval('#count', (n) => n.textContent)).toBe('8 images')

    // By tag: `red hair` is one tag (a run of words), `-hat` excludes.
    await filterBy(page, 'red hair')
    expect(await cardCount(page)).toBe(3)
    await filterBy(page, 'red hair -hat')
    expect(await cardCount(page)).toBe(2)
    expect(await page.$eval('#count', (n) => n.textContent)).toBe('2 of 8 images')
    // Autocomplete: `ha` suggests the dataset's tags holding it; Tab takes the first.
    await filterBy(page, 'ha')
    const suggested = await page.$$eval('#suggest li span:first-child', (spans) => spans.map((s) => s.textContent))
    expect(suggested).toEqual(['hat', 'red hair'])
    await page.keyboard.press('Tab')
    expect(await page.$eval('#filter', (input) => (input as HTMLInputElement).value)).toBe('hat ')
    expect(await cardCount(page)).toBe(1)
    await filterBy(page, '')
    expect(await cardCount(page)).toBe(8)

    // By status.
    await page.select('#status', 'skipped')
    expect(await page.$$eval('#grid .card', (cards) => cards.map((c) => (c as HTMLElement).dataset.id))).toEqual([
      'img_0004',
    ])
    await page.select('#status', 'tagged')
    expect(await cardCount(page)).toBe(3)
    await page.select('#status', 'pending')
    expect(await cardCount(page)).toBe(4)
    await page.select('#status', '')

    // The hostile tag is shown as text and ran nothing.
    expect(await page.evaluate(() => (window as unknown as {__pwned?: number}).__pwned)).toBeUndefined()
    const caption = await page.$eval('.card[data-id="img_0003"] .caption', (n) => n.textContent)
    expect(caption).toBe(`ohwx, red hair, ${HOSTILE}`)
    expect(await page.$$eval('#grid script, #grid img:not(.card img)', (n) => n.length)).toBe(0)

    // Open an image by click: the dataset's own file (not the thumbnail) loads, with all its tags.
    await page.click('.card[data-id="img_0001"]')
    await page.waitForFunction(() => {
      const img = document.getElementById('large') as HTMLImageElement
      return img.complete && img.naturalWidth > 0
    })
    const large = await page.$eval('#large', (img) => ({
      src: (img as HTMLImageElement).src,
      width: (img as HTMLImageElement).naturalWidth,
    }))
    expect(decodeURIComponent(large.src)).toBe(`file://${join(root, 'output', 'img_0001.jpg')}`)
    expect(large.width).toBe(400)
    expect(await page.$$eval('#v-tags li', (li) => li.map((l) => l.textContent))).toEqual(['ohwx', 'red hair', 'hat'])
    // The arrow keys go to the next image; Esc closes.
    await page.keyboard.press('ArrowRight')
    expect(await page.$eval('#v-id', (n) => n.textContent)).toBe('img_0002')
    await page.keyboard.press('Escape')
    expect(await page.$eval('#viewer', (d) => (d as HTMLDialogElement).open)).toBe(false)

    // The embedded prompt of the generated image.
    await page.click('.card[data-id="img_0008"]')
    expect(await page.$eval('#v-prompt', (n) => n.textContent)).toContain('(automatic1111)')
    await page.keyboard.press('Escape')
    await page.waitForFunction(() => document.activeElement?.classList.contains('card'))

    // Keyboard: `/` goes to the filter, Enter to the first card, arrows move, Enter opens.
    await page.keyboard.press('/')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('filter')
    await page.keyboard.type('red hair')
    await page.keyboard.press('Escape') // closes the suggestions
    await page.keyboard.press('Enter')
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.id)).toBe('img_0001')
    await page.keyboard.press('ArrowRight')
    await page.keyboard.press('Enter')
    expect(await page.$eval('#v-id', (n) => n.textContent)).toBe('img_0002')
    await page.keyboard.press('Escape')
    await filterBy(page, '')

    // A screenshot that is not blank (a page of photos: its pixels spread widely).
    await thumbnailsLoaded(page)
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
    const shot = await page.screenshot({fullPage: false, type: 'png'})
    expect(await pixelSpread(shot)).toBeGreaterThan(20)
    await fsp.writeFile(join(tmp, 'gallery.png'), shot)
    const keep = process.env.LORA_GALLERY_SCREENSHOT
    if (keep) await fsp.writeFile(resolve(keep), shot)

    expect(errors).toEqual([])
    expect(offline).toEqual([])
    await page.close()
  },
  60_000,
)

itIf(CHROMIUM_MISSING, 'light or dark following the system (prefers-color-scheme)', async () => {
  const root = await fixtureDataset()
  const report = JSON.parse((await loraInOk(['gallery', '--json'], {cwd: root})).stdout) as {page: string}
  const {page} = await openPage(report.page)
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor)
  await page.emulateMediaFeatures([{name: 'prefers-color-scheme', value: 'light'}])
  expect(await background()).toBe('rgb(246, 246, 244)')
  await page.emulateMediaFeatures([{name: 'prefers-color-scheme', value: 'dark'}])
  expect(await background()).toBe('rgb(21, 21, 23)')
  await page.close()
})

itIf(CHROMIUM_MISSING, 'curation groups and findings, when the data has them: side by side, and a filter', async () => {
  // The page lora writes has no curation data yet (README "lora gallery"); this one is made by the same code with
  // groups and findings, its images data: URLs of a real photo's thumbnail.
  const {galleryPage} = await import('../../src/core/gallery.js')
  const thumb = await sharp(join(FIXTURES, 'plasma-Kite-screenshot.jpg')).resize(64).webp().toBuffer()
  const src = `data:image/webp;base64,${thumb.toString('base64')}`
  const image = (id: string) => ({
    id,
    file: `${id}.jpg`,
    src,
    thumb: src,
    width: 64,
    height: 40,
    status: 'pending' as const,
    reason: null,
    tags: [],
    prompt: null,
    problems: [],
  })
  const file = join(tmp, 'curated.html')
  await fsp.writeFile(
    file,
    galleryPage({
      version: 1,
      title: 'curated',
      trigger: null,
      generatedAt: '2026-12-01T00:00:00.000Z',
      tags: [],
      images: ['img_0001', 'img_0002', 'img_0003', 'img_0004'].map(image),
      groups: [{kind: 'duplicates', ids: ['img_0001', 'img_0003'], reason: 'near-identical'}],
      findings: [
        {id: 'img_0002', kind: 'blurry', reason: 'low sharpness'},
        {id: 'img_0004', kind: 'blurry', reason: 'low sharpness'},
        {id: 'img_0004', kind: 'small', reason: '64 px'},
      ],
    }),
  )
  const {page, offline, errors} = await openPage(file)
  expect(await page.$$eval('#groups .group', (g) => g.map((box) => box.querySelectorAll('.card').length))).toEqual([2])
  expect(await page.$eval('#groups', (g) => (g as HTMLElement).hidden)).toBe(false)
  await page.select('#finding', 'blurry')
  expect(await page.$$eval('#grid .card', (c) => c.map((card) => (card as HTMLElement).dataset.id))).toEqual([
    'img_0002',
    'img_0004',
  ])
  expect(await page.$eval('.card[data-id="img_0004"] .reason', (n) => n.textContent)).toBe(
    'blurry: low sharpness; small: 64 px',
  )
  expect([errors, offline]).toEqual([[], []])
  await page.close()
})

itIf(
  CHROMIUM_MISSING,
  'ids and tags named like Object.prototype keys (constructor, __proto__) show and filter as any other',
  async () => {
    // A dataset from a stranger: its state.json names images `constructor` and `__proto__` (a valid id: no control
    // character, the file is the id and an image extension), tagged `constructor` and `toString`. Before, the page's
    // lookups by id went to Object.prototype (`findingsOf["constructor"]` is Object): its script threw and showed no
    // card at all, and the filter `-constructor` hid every image.
    const root = await threeImageDataset()
    await loraInOk(['tag', '3', '--add', 'red hair'], {cwd: root})
    await loraInOk(['curate'], {cwd: root})
    const statePath = join(root, '.lora-tagger', 'state.json')
    const state = JSON.parse(await fsp.readFile(statePath, 'utf8')) as {
      images: {id: string; file: string; tags: string[]; status: string}[]
    }
    const renames: [string, string[]][] = [
      ['constructor', ['constructor']],
      ['__proto__', ['toString']],
    ]
    renames.forEach(([id, tags], k) => {
      const image = state.images[k]
      const ext = image.file.slice(image.file.lastIndexOf('.'))
      fs.renameSync(join(root, 'output', image.file), join(root, 'output', id + ext))
      fs.renameSync(join(root, 'output', `${image.id}.txt`), join(root, 'output', `${id}.txt`))
      fs.writeFileSync(join(root, 'output', `${id}.txt`), tags.join(', ') + '\n')
      Object.assign(image, {id, file: id + ext, tags, status: 'tagged'})
    })
    await fsp.writeFile(statePath, JSON.stringify(state, null, 2))
    await loraInOk(['gallery'], {cwd: root})
    const {page, offline, errors} = await openPage(join(root, '.lora-tagger', 'gallery', 'index.html'))
    const ids = () => page.$$eval('#grid .card', (c) => c.map((card) => (card as HTMLElement).dataset.id))
    expect(await ids()).toEqual(['constructor', '__proto__', 'img_0003'])
    expect(await page.$eval('.card[data-id="constructor"] .reason', (n) => n.textContent)).toContain('low-resolution')
    await filterBy(page, 'constructor')
    expect(await ids()).toEqual(['constructor'])
    await filterBy(page, '-constructor')
    expect(await ids()).toEqual(['__proto__', 'img_0003'])
    await filterBy(page, '-tostring')
    expect(await ids()).toEqual(['constructor', 'img_0003'])
    await filterBy(page, '')
    expect(await page.$$eval('#chart .bar span:first-child', (s) => s.map((n) => n.textContent))).toEqual([
      'constructor',
      'red hair',
      'toString',
    ])
    await page.click('.card[data-id="__proto__"]')
    expect(await page.$eval('#v-id', (n) => n.textContent)).toBe('__proto__')
    expect([errors, offline]).toEqual([[], []])
    await page.close()
  },
  60_000,
)

itIf(
  CHROMIUM_MISSING,
  'an image file replaced by a link or a FIFO is not loaded: the link is not followed, the page does not hang',
  async () => {
    // A dataset from a stranger: img_0001 a symbolic link to a photo of the user's outside the dataset, img_0002 a
    // FIFO. Before, the page loaded both as `../../output/img_000N.jpg` (no thumbnail, so the file itself): the
    // browser showed the user's photo as the dataset's, and waited on the FIFO for good (the page never finished
    // loading; the other thumbnails with it).
    const root = await threeImageDataset()
    const privatePhoto = join(tmp, 'private.png')
    await fsp.copyFile(join(FIXTURES, 'skimage-horse.png'), privatePhoto)
    await fsp.rm(join(root, 'output', 'img_0001.jpg'))
    await fsp.symlink(privatePhoto, join(root, 'output', 'img_0001.jpg'))
    await fsp.rm(join(root, 'output', 'img_0002.jpg'))
    execFileSync('mkfifo', [join(root, 'output', 'img_0002.jpg')])
    await loraInOk(['gallery'], {cwd: root})
    if (!browser) throw new Error('no browser')
    const page = await browser.newPage()
    const requested: string[] = []
    page.on('request', (request) => requested.push(request.url()))
    await page.goto(pathToFileURL(join(root, '.lora-tagger', 'gallery', 'index.html')).href, {
      waitUntil: 'load',
      timeout: 15_000,
    })
    await thumbnailsLoadedExcept(page, ['img_0001', 'img_0002'])
    await page.click('.card[data-id="img_0001"]')
    expect(await page.$eval('#large', (img) => img.hasAttribute('src'))).toBe(false)
    expect(await page.$eval('#v-problems', (n) => n.textContent)).toContain('symbolic link')
    await page.keyboard.press('Escape')
    expect(requested.filter((url) => url.includes('/output/'))).toEqual([])
    await page.close()
  },
  60_000,
)

/** Waits until every card's thumbnail but those of `except` has loaded. */
async function thumbnailsLoadedExcept(page: Page, except: string[]): Promise<void> {
  await page.waitForFunction(
    (skip: string[]) =>
      Array.from(document.querySelectorAll<HTMLElement>('#grid .card'))
        .filter((card) => !skip.includes(card.dataset.id ?? ''))
        .every((card) => {
          const img = card.querySelector('img') as HTMLImageElement
          return img.complete && img.naturalWidth > 0
        }),
    {timeout: 10_000},
    except,
  )
}

itIf(CHROMIUM_MISSING, 'many images: cards are added as the grid is scrolled, filters count them all', async () => {
  const {galleryPage} = await import('../../src/core/gallery.js')
  const thumb = await sharp(join(FIXTURES, 'plasma-Kite-screenshot.jpg')).resize(32).webp().toBuffer()
  const src = `data:image/webp;base64,${thumb.toString('base64')}`
  const images = Array.from({length: 600}, (_, i) => ({
    id: `img_${String(i + 1).padStart(4, '0')}`,
    file: `img_${String(i + 1).padStart(4, '0')}.jpg`,
    src,
    thumb: src,
    width: 32,
    height: 20,
    status: i % 2 ? ('tagged' as const) : ('pending' as const),
    reason: null,
    tags: i % 2 ? ['odd'] : [],
    prompt: null,
    problems: [],
  }))
  const file = join(tmp, 'many.html')
  const tags = [{tag: 'odd', count: 300}]
  await fsp.writeFile(
    file,
    galleryPage({version: 1, title: 'many', trigger: null, generatedAt: '2026-12-01T00:00:00.000Z', tags, images}),
  )
  const {page, errors} = await openPage(file)
  const first = await cardCount(page)
  expect(first).toBeGreaterThan(0)
  expect(first).toBeLessThan(600)
  expect(await page.$eval('#count', (n) => n.textContent)).toBe('600 images')
  // Scrolled to the end, again and again: every card comes.
  for (let i = 0; i < 10 && (await cardCount(page)) < 600; i++) {
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight))
    await page.waitForFunction((n) => document.querySelectorAll('#grid .card').length > n, {timeout: 5000}, first)
  }
  expect(await cardCount(page)).toBe(600)
  await filterBy(page, 'odd')
  expect(await page.$eval('#count', (n) => n.textContent)).toBe('300 of 600 images')
  expect(errors).toEqual([])
  await page.close()
})

itIf(CHROMIUM_MISSING, 'a blank page is told apart from a page of photos (the screenshot check can fail)', async () => {
  const blank = join(tmp, 'blank.html')
  await fsp.writeFile(blank, '<!doctype html><body style="background:#fff"></body>')
  const {page} = await openPage(blank)
  expect(await pixelSpread(await page.screenshot({type: 'png'}))).toBeLessThan(1)
  await page.close()
})

itIf(
  CHROMIUM_MISSING,
  'a request to the network is seen by the interception (the offline check can fail)',
  async () => {
    const online = join(tmp, 'online.html')
    await fsp.writeFile(online, '<!doctype html><body><img src="https://example.com/x.png"></body>')
    const {page, offline} = await openPage(online)
    expect(offline).toEqual(['https://example.com/x.png'])
    await page.close()
  },
)

if (!CHROMIUM_MISSING)
  itShared(
    'the shared photos: one card per image, each thumbnail and a large image load, offline',
    async () => {
      const root = join(tmp, 'photos')
      await fsp.cp(join(SHARED_DATA, 'photos'), root, {recursive: true})
      await loraInOk(['init', '.'], {cwd: root})
      const state = JSON.parse(await fsp.readFile(join(root, '.lora-tagger', 'state.json'), 'utf8')) as {
        images: unknown[]
      }
      await loraInOk(['tag', '1', '2', '3', '--add', 'wallpaper'], {cwd: root})
      const report = JSON.parse((await loraInOk(['gallery', '--json'], {cwd: root})).stdout) as {page: string}
      const {page, offline, errors} = await openPage(report.page)
      expect(await cardCount(page)).toBe(state.images.length)
      await thumbnailsLoaded(page)
      await filterBy(page, 'wallpaper')
      expect(await cardCount(page)).toBe(3)
      await page.select('#status', 'pending')
      expect(await cardCount(page)).toBe(0)
      await filterBy(page, '')
      expect(await cardCount(page)).toBe(state.images.length - 3)
      await page.click('#grid .card')
      await page.waitForFunction(() => (document.getElementById('large') as HTMLImageElement).naturalWidth > 0)
      expect(errors).toEqual([])
      expect(offline).toEqual([])
      await page.close()
    },
    120_000,
  )
else
  itIf(
    CHROMIUM_MISSING,
    'the shared photos: one card per image, each thumbnail and a large image load, offline',
    () => {},
  )
