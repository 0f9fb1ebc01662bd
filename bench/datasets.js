// Builds benchmark image folders from real photos: ../shared/data/photos when present (else test/fixtures),
// each photo decoded once, then written as N small JPEG variants (sizes 24–55 px, qualities 60–95, and the
// variant number in the EXIF description), so every file differs. Cached under bench/.cache/images-N/.
import {existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {CACHE, hasShared, ROOT, SHARED} from './lib.js'

/** Returns the folder holding `count` distinct small real-photo JPEGs (built on first use). */
export async function imageFolder(count) {
  const dir = join(CACHE, `images-${count}`)
  if (existsSync(join(dir, '.complete'))) return dir
  mkdirSync(dir, {recursive: true})
  const {default: sharp} = await import('sharp')
  const from = hasShared ? join(SHARED, 'photos') : join(ROOT, 'test', 'fixtures', 'images')
  const sources = []
  for (const name of readdirSync(from).sort()) {
    try {
      const {data, info} = await sharp(join(from, name)).resize(64, 64, {fit: 'cover'}).removeAlpha().raw().toBuffer({resolveWithObject: true})
      sources.push({data, info})
    } catch {
      // not decodable (the truncated JPEG): skip
    }
  }
  const pad = String(count).length
  for (let i = 0; i < count; i++) {
    const src = sources[i % sources.length]
    const w = 24 + (i % 32)
    const h = 24 + (Math.floor(i / 32) % 32)
    const buffer = await sharp(src.data, {raw: {width: src.info.width, height: src.info.height, channels: 3}})
      .resize(w, h)
      .jpeg({quality: 60 + (i % 36)})
      .withExif({IFD0: {ImageDescription: `lora bench variant ${i}`}})
      .toBuffer()
    writeFileSync(join(dir, `photo-${String(i).padStart(pad, '0')}.jpg`), buffer)
  }
  writeFileSync(join(dir, '.complete'), `${count}\n`)
  return dir
}
