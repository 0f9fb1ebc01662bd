/**
 * WD14-tagger input geometry (core/tagger-input.ts `fitInSquare`, `padToSquare`) and the pixels `taggerPixels`
 * (adapters/images.ts) makes at a real model's size, against kohya sd-scripts' preprocessing computed here in plain
 * JavaScript: the image padded to a centred white square, then cv2's INTER_AREA (each output pixel the area mean of
 * the source pixels it covers, fractional at its edges).
 */
import {join} from 'node:path'
import sharp from 'sharp'
import {taggerPixels} from '../../src/adapters/images.js'
import {fitInSquare, padToSquare} from '../../src/core/tagger-input.js'
import {FIXTURES, itShared, makeTemp, removeTemp, SHARED_DATA} from '../helpers.js'

describe('fitInSquare', () => {
  it('scales the longer side to the size; the other edges where the reference puts them, rounded', () => {
    expect(fitInSquare(1600, 1000, 448)).toEqual({width: 448, height: 280, left: 0, top: 84})
    expect(fitInSquare(1000, 1600, 448)).toEqual({width: 280, height: 448, left: 84, top: 0})
    // 1717 × 395 at 24: 5.52 rows → 6; pad 18 → 9 on top.
    expect(fitInSquare(1717, 395, 24)).toEqual({width: 24, height: 6, left: 0, top: 9})
    // An odd pad: 7 → 3 on the left (np.pad's pad // 2), 4 on the right.
    expect(fitInSquare(17, 24, 24)).toEqual({width: 17, height: 24, left: 3, top: 0})
    expect(fitInSquare(300, 300, 448)).toEqual({width: 448, height: 448, left: 0, top: 0})
    // Never thinner than a pixel.
    expect(fitInSquare(5000, 3, 32)).toEqual({width: 32, height: 1, left: 0, top: 16})
  })
  it('enlarging, the pad is the reference one in source pixels, scaled: 3 × 2 at 448 sits at the top', () => {
    // kohya pads 3 × 2 to 3 × 3 with 0 rows above (1 // 2) and 1 below, then resizes ×149.3: rows 0–298.
    expect(fitInSquare(3, 2, 448)).toEqual({width: 448, height: 299, left: 0, top: 0})
    // 14 × 25: 11 columns of pad, 5 on the left: 5 × 17.92 = 89.6 → 90.
    expect(fitInSquare(14, 25, 448)).toEqual({width: 250, height: 448, left: 90, top: 0})
  })
  it('refuses sizes that are not positive whole numbers', () => {
    expect(() => fitInSquare(0, 10, 448)).toThrow(RangeError)
    expect(() => fitInSquare(10, 10.5, 448)).toThrow(RangeError)
    expect(() => fitInSquare(10, 10, -1)).toThrow(RangeError)
  })
})

describe('padToSquare', () => {
  it('puts the rows at their offset in a white square', () => {
    const rgb = Uint8Array.from([1, 2, 3, 4, 5, 6]) // 2 × 1
    const out = padToSquare(rgb, {width: 2, height: 1, left: 1, top: 1}, 3)
    expect([...out]).toEqual([
      ...[255, 255, 255, 255, 255, 255, 255, 255, 255],
      ...[255, 255, 255, 1, 2, 3, 4, 5, 6],
      ...[255, 255, 255, 255, 255, 255, 255, 255, 255],
    ])
  })
  it('refuses pixels of another size and an image that does not fit', () => {
    expect(() => padToSquare(new Uint8Array(5), {width: 2, height: 1, left: 0, top: 0}, 3)).toThrow(RangeError)
    expect(() => padToSquare(new Uint8Array(6), {width: 2, height: 1, left: 2, top: 0}, 3)).toThrow(RangeError)
  })
})

/** kohya's input: decoded upright on white, padded to a centred white square (np.pad), then INTER_AREA to `size`. */
async function kohyaReference(file: string, size: number): Promise<Uint8Array> {
  const white = {r: 255, g: 255, b: 255, alpha: 1}
  const {data, info} = await sharp(file)
    .rotate()
    .flatten({background: white})
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({resolveWithObject: true})
  const {width, height} = info
  const side = Math.max(width, height)
  const left = Math.floor((side - width) / 2)
  const top = Math.floor((side - height) / 2)
  const at = (x: number, y: number, c: number) =>
    x < left || y < top || x >= left + width || y >= top + height ? 255 : data[((y - top) * width + x - left) * 3 + c]
  // Per output index: the source indices it covers and their weights (coverage / scale), as INTER_AREA.
  const scale = side / size
  const taps: [number, number][][] = []
  for (let o = 0; o < size; o++) {
    const [a, b] = [o * scale, (o + 1) * scale]
    const list: [number, number][] = []
    for (let i = Math.floor(a); i < Math.ceil(b); i++) list.push([i, (Math.min(b, i + 1) - Math.max(a, i)) / scale])
    taps.push(list)
  }
  const across = new Float64Array(side * size * 3)
  for (let y = 0; y < side; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) {
        let v = 0
        for (const [i, k] of taps[x]) v += k * at(i, y, c)
        across[(y * size + x) * 3 + c] = v
      }
  const out = new Uint8Array(size * size * 3)
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) {
        let v = 0
        for (const [j, k] of taps[y]) v += k * across[(j * size + x) * 3 + c]
        out[(y * size + x) * 3 + c] = Math.round(v)
      }
  return out
}

/** Mean absolute difference per value (0–255). */
function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length)
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i])
  return sum / a.length
}

describe('taggerPixels at 448 (scaled, shrunk on load, then padded) against the reference', () => {
  it('a 1,600 × 1,000 photo (4 × 4 tiles of a fixture photo, decoded at half size) is within 0.8 of 255 per value (nearest-neighbour resizing: 1.06)', async () => {
    const tile = join(FIXTURES, 'plasma-Kite-screenshot.jpg') // 400 × 250
    const dir = await makeTemp('lora-tagger-input-')
    const file = join(dir, 'tiled.jpg')
    const composite = []
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) composite.push({input: tile, left: x * 400, top: y * 250})
    await sharp({create: {width: 1600, height: 1000, channels: 3, background: '#000'}})
      .composite(composite)
      .jpeg({quality: 92})
      .toFile(file)
    const diff = meanAbsDiff(await taggerPixels(file, 448), await kohyaReference(file, 448))
    await removeTemp(dir)
    expect(diff).toBeLessThan(0.8)
  })
  it('a 3 × 2 image, enlarged, sits where kohya puts it: rows 0–298 of 448, white below', async () => {
    const dir = await makeTemp('lora-tagger-input-')
    const file = join(dir, 'small.png')
    await sharp({create: {width: 3, height: 2, channels: 3, background: {r: 200, g: 0, b: 0}}})
      .png()
      .toFile(file)
    const px = await taggerPixels(file, 448)
    await removeTemp(dir)
    const at = (x: number, y: number) => [...px.subarray((y * 448 + x) * 3, (y * 448 + x) * 3 + 3)]
    expect(at(224, 0)).toEqual([200, 0, 0])
    expect(at(224, 297)).toEqual([200, 0, 0])
    expect(at(224, 299)).toEqual([255, 255, 255])
    expect(at(224, 447)).toEqual([255, 255, 255])
  })
  itShared('photos of ../shared/data/photos (JPEG shrunk on load, PNG): within 5 of 255, 2.5 on average', async () => {
    const diffs: number[] = []
    for (const name of [
      'plasma-ColorfulCups-2560x1600.jpg', // JPEG decoded at a quarter of its size
      'skimage-retina.jpg',
      'skimage-hubble_deep_field.jpg', // point-like stars: the largest difference of the photos
      'skimage-motorcycle_left.png', // no shrink-on-load
    ]) {
      const file = join(SHARED_DATA, 'photos', name)
      const diff = meanAbsDiff(await taggerPixels(file, 448), await kohyaReference(file, 448))
      expect([name, diff < 5]).toEqual([name, true])
      diffs.push(diff)
    }
    expect(diffs.reduce((a, b) => a + b) / diffs.length).toBeLessThan(2.5)
  })
})
