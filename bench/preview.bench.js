#!/usr/bin/env node
// Issue 17 benchmark: the image drawn in the terminal (README "Images in the terminal"). For real photos, the time
// from the file to the escape sequence of each protocol (read, one sharp resize with EXIF orientation, encode), as
// `lora next` makes it once its prompt is shown, next to the baseline measured in the same run: sharp's resize
// alone to the same pixels. Also the part of it that runs on the main thread (the encoder: what could delay a
// keystroke) and the bytes written to the terminal. A box of 100 columns × 20 rows of 10×20-pixel cells.
// Uses ../shared/data/photos when present, else the repository's fixtures. Needs a build (`npm run build`).
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import sharp from 'sharp'
import {hasShared, machine, ms, ROOT, SHARED, stats, table} from './lib.js'

const {previewPixels} = await import(join(ROOT, 'dist', 'adapters', 'preview-image.js'))
const core = await import(join(ROOT, 'dist', 'core', 'inline-image.js'))

const folder = hasShared ? join(SHARED, 'photos') : join(ROOT, 'test', 'fixtures', 'images')
const photos = readdirSync(folder)
  .filter((n) => /\.(jpe?g|png|webp)$/iu.test(n) && !n.includes('truncated'))
  .sort()
  .slice(0, 8)
  .map((n) => join(folder, n))
const RUNS = 5
const room = {maxColumns: 100, maxRows: 20}

async function time(fn) {
  const t0 = performance.now()
  const out = await fn()
  return {ms: performance.now() - t0, out}
}

const results = {}
for (const protocol of ['baseline', 'kitty', 'iterm2', 'sixel', 'halfblocks']) {
  const total = []
  const encode = []
  let bytes = 0
  for (let run = 0; run < RUNS; run++)
    for (const photo of photos) {
      const p = protocol === 'baseline' ? 'sixel' : protocol
      let box
      const size = (displayed) => (box = core.fitPreview(displayed, room, core.DEFAULT_CELL, p))
      if (protocol === 'baseline') {
        const meta = await sharp(photo).metadata()
        const t = await time(() =>
          sharp(photo)
            .rotate()
            .resize(size(meta.autoOrient ?? meta).width, box.height, {fit: 'fill'})
            .raw()
            .toBuffer(),
        )
        total.push(t.ms)
        continue
      }
      const png = protocol === 'kitty' || protocol === 'iterm2'
      const t0 = performance.now()
      const pixels = await previewPixels(photo, png ? 'png' : 'rgb', size)
      const t1 = performance.now()
      const text =
        protocol === 'kitty'
          ? core.kittyImage(pixels.data, box, 1)
          : protocol === 'iterm2'
            ? core.iterm2Image(pixels.data, box)
            : protocol === 'sixel'
              ? core.sixelImage(pixels)
              : core.halfBlockLines(pixels, 'truecolor').join('\x1b[1B\r')
      const t2 = performance.now()
      total.push(t2 - t0)
      encode.push(t2 - t1)
      if (run === 0) bytes += Buffer.byteLength(text)
    }
  results[protocol] = {
    total: stats(total),
    encode: encode.length ? stats(encode) : undefined,
    bytes: bytes / photos.length,
  }
}

console.log(`${machine()}; ${photos.length} photos from ${folder}, ${RUNS} runs each`)
const base = results.baseline.total.median
table(
  [
    'protocol',
    'file → sequence (median)',
    'max',
    'ratio to resize alone',
    'main thread (encode, median / max)',
    'bytes (mean)',
  ],
  Object.entries(results).map(([name, r]) => [
    name === 'baseline' ? 'sharp resize alone' : name,
    ms(r.total.median),
    ms(r.total.max),
    name === 'baseline' ? '1.00×' : `${(r.total.median / base).toFixed(2)}×`,
    r.encode ? `${ms(r.encode.median)} / ${ms(r.encode.max)}` : '—',
    name === 'baseline' ? '—' : `${Math.round(r.bytes / 1024)} kB`,
  ]),
)
