/**
 * contactSheet (src/adapters/contact-sheet.ts), the picture `lora curate --review` shows for a group of near-duplicates,
 * on real PNG files: every picture of a small group side by side, and no more than SHEET_MAX_IMAGES of a large one,
 * with a last tile counting the others (a group of hundreds of frames made a sheet hundreds of thousands of pixels wide).
 */
import * as fs from 'node:fs'
import {join} from 'node:path'
import sharp from 'sharp'
import {contactSheet, SHEET_HEIGHT, SHEET_MAX_IMAGES} from '../../src/adapters/contact-sheet.js'
import {cleanupTemps, tempDir} from '../e2e/e2e-helpers.js'

afterAll(cleanupTemps)

/** `count` square PNG files of distinct colours; their paths. */
async function squares(count: number): Promise<string[]> {
  const dir = await tempDir('lora-sheet-')
  const paths: string[] = []
  for (let i = 0; i < count; i++) {
    const path = join(dir, `sq_${i}.png`)
    const background = {r: (i * 40) % 256, g: (i * 90) % 256, b: (i * 150) % 256}
    fs.writeFileSync(
      path,
      await sharp({create: {width: 64, height: 64, channels: 3, background}})
        .png()
        .toBuffer(),
    )
    paths.push(path)
  }
  return paths
}

describe('contactSheet', () => {
  it('puts every picture of a small group side by side, each scaled to the sheet height', async () => {
    const paths = await squares(3)
    const png = await contactSheet(paths.map((path, i) => ({path, label: `img_000${i + 1}`})))
    const meta = await sharp(png).metadata()
    // Three 320-pixel squares and two 8-pixel gaps.
    expect(meta.width).toBe(3 * SHEET_HEIGHT + 2 * 8)
  })

  it(`shows the first ${SHEET_MAX_IMAGES} pictures of a larger group and a tile counting the others`, async () => {
    const paths = await squares(SHEET_MAX_IMAGES + 12)
    const png = await contactSheet(paths.map((path, i) => ({path, label: `img_${i}`})))
    const {data, info} = await sharp(png).raw().toBuffer({resolveWithObject: true})
    // SHEET_MAX_IMAGES squares, then the 160-pixel "+12 more" tile, with 8-pixel gaps between them.
    expect(info.width).toBe(SHEET_MAX_IMAGES * SHEET_HEIGHT + SHEET_MAX_IMAGES * 8 + 160)
    // The last picture drawn is the eighth (its colour), and the tile after it holds white text on the background.
    const pixel = (x: number, y: number) => {
      const at = (y * info.width + x) * info.channels
      return [...data.subarray(at, at + 3)]
    }
    const eighth = (SHEET_MAX_IMAGES - 1) * (SHEET_HEIGHT + 8) + SHEET_HEIGHT / 2
    const i = SHEET_MAX_IMAGES - 1
    expect(pixel(eighth, SHEET_HEIGHT / 2)).toEqual([(i * 40) % 256, (i * 90) % 256, (i * 150) % 256])
    const tile = SHEET_MAX_IMAGES * (SHEET_HEIGHT + 8)
    let white = 0
    for (let x = tile; x < info.width; x++)
      for (let y = SHEET_HEIGHT / 2 - 20; y < SHEET_HEIGHT / 2 + 5; y++) if (pixel(x, y)[0] > 200) white++
    expect(white).toBeGreaterThan(20)
  })
})
