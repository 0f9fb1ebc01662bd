/**
 * Resolves how a user names an image on the command line: by number (`42`), id (`img_0042`), file name
 * (`img_0042.jpg`, or its caption `img_0042.txt`), path to the file in the output folder, or the original's path
 * or file name as imported (`photos/cat.jpg`, `cat.jpg`).
 */
import {basename, relative, resolve} from 'node:path'
import {UsageError} from '../errors.js'
import type {ImageRecord} from './state.js'

/** Where relative paths are resolved from. */
export interface RefContext {
  cwd: string
  root: string
  outputDir: string
}

/**
 * Finds the image a reference names.
 * @throws UsageError when nothing matches, or when an original file name matches several images
 */
export function resolveImageRef(images: readonly ImageRecord[], ref: string, ctx: RefContext): ImageRecord {
  const trimmed = ref.trim()
  if (/^\d+$/u.test(trimmed)) {
    const n = Number(trimmed)
    const hit = images.find((i) => i.n === n)
    if (hit) return hit
  }
  const byId = images.find((i) => i.id === trimmed || i.file === trimmed || stem(i.file) === stem(trimmed))
  if (byId && !trimmed.includes('/')) return byId
  const abs = resolve(ctx.cwd, trimmed)
  const inOutput = relative(ctx.outputDir, abs)
  if (!inOutput.startsWith('..') && !inOutput.includes('/')) {
    const hit = images.find((i) => i.file === inOutput || stem(i.file) === stem(inOutput))
    if (hit) return hit
  }
  const fromRoot = relative(ctx.root, abs).split('\\').join('/')
  const bySource = images.find((i) => i.source === fromRoot || i.source === trimmed)
  if (bySource) return bySource
  const byName = images.filter((i) => basename(i.source) === trimmed)
  if (byName.length === 1) return byName[0]
  if (byName.length > 1) {
    throw new UsageError(
      `"${ref}" matches several originals: ${byName.map((i) => `${i.id} (${i.source})`).join(', ')}.`,
      'Name the image by its id instead.',
    )
  }
  throw new UsageError(
    `No image matches "${ref}".`,
    `Name an image by number (42), id (img_0042), file name or path; ${idRange(images)}`,
  )
}

/** The hint's end: the ids the dataset has (`img_0001 to img_0014`, by number) and where all are listed. */
function idRange(images: readonly ImageRecord[]): string {
  if (images.length === 0) return 'the dataset has no image yet (`lora init` adds them).'
  let first = images[0]
  let last = images[0]
  for (const i of images) {
    if (i.n < first.n) first = i
    if (i.n > last.n) last = i
  }
  const range = first === last ? `its one image is ${first.id}` : `its images are ${first.id} to ${last.id}`
  return `${range} (\`lora ls\` lists them with their files).`
}

function stem(name: string): string {
  const dot = name.lastIndexOf('.')
  return dot > 0 ? name.slice(0, dot) : name
}
