/**
 * Builds validate fixtures: real folders in a temp dir, with real images copied from test/fixtures/images (through
 * helpers.copyFixtures) and caption files written as given. No mocks.
 */
import * as fsp from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {copyFixtures, makeTemp} from '../helpers.js'

/** A file to create: caption text or bytes, or `{image: fixture name}` for a copy of a real fixture image. */
export type Spec = string | Uint8Array | {image: string}

/** Short names of the fixture images. */
export const IMG = {
  jpg: 'plasma-Kite-screenshot.jpg', // 400×250 JPEG
  jpg2: 'plasma-Path-screenshot.jpg', // 400×250 JPEG
  png: 'skimage-horse.png', // 400×328 PNG
  gif: 'skimage-no_time_for_that_tiny.gif',
  truncated: 'skimage-truncated.jpg', // header cut short: sharp cannot read it
} as const

/** Creates `files` (relative paths) in a new temp folder and returns the folder. */
export async function folder(files: Record<string, Spec>, base?: string): Promise<string> {
  const root = base ?? (await makeTemp('lora-validate-'))
  for (const [rel, spec] of Object.entries(files)) {
    const path = join(root, rel)
    await fsp.mkdir(dirname(path), {recursive: true})
    if (typeof spec === 'object' && 'image' in spec) {
      const staging = await makeTemp('lora-fixture-')
      await copyFixtures(staging, [spec.image])
      await fsp.rename(join(staging, spec.image), path).catch(async () => {
        await fsp.copyFile(join(staging, spec.image), path)
      })
      await fsp.rm(staging, {recursive: true, force: true})
    } else {
      await fsp.writeFile(path, spec)
    }
  }
  return root
}

/** A small re-encoded copy (JPEG, `width` px wide) of a real fixture photo, written with sharp. */
export async function smallCopy(path: string, fixture: string, width: number): Promise<void> {
  const staging = await makeTemp('lora-fixture-')
  await copyFixtures(staging, [fixture])
  const {default: sharp} = await import('sharp')
  await fsp.mkdir(dirname(path), {recursive: true})
  await sharp(join(staging, fixture)).resize(width).jpeg({quality: 80}).toFile(path)
  await fsp.rm(staging, {recursive: true, force: true})
}
