/**
 * The layout half of `lora validate`: from one listing of the folder (adapters/listing.ts), groups files by folder into images and
 * caption files, and applies the rules that need only names: missing-caption, orphan-caption, stem-collision,
 * unsupported-format, caption-extension, kohya-folder-name and civitai-limits; and, from each entry's kind,
 * not-regular-file and symbolic-link (lora never follows a link nor opens a FIFO: such an image or caption keeps its
 * place among the names, so its neighbours are paired as a trainer pairs them, but its content is never read). It
 * returns those findings and the list of image/caption files whose content must be read. No file content is read
 * here.
 */
import {IMAGE_EXTENSIONS, extensionOf} from '../naming.js'
import type {ValidateTarget} from './config.js'
import {type RuleId, TARGET_NAMES, TARGETS} from './rules.js'
import {groupDigits} from '../progress.js'
import {oddFileKindText} from '../containment.js'
import {counted} from '../plural.js'

/** Image-like extensions looked at (lower case): what lora imports plus what some trainers read with plugins. */
const IMAGE_LIKE = new Set<string>([...IMAGE_EXTENSIONS, 'jxl', 'heic', 'heif'])

/** Folders never descended into: trainer caches (ai-toolkit's `_latent_cache/`) and archive debris (`__MACOSX/`, which CivitAI skips). */
export const SKIPPED_FOLDERS = ['_latent_cache', '__MACOSX']

/** What the layout pass needs to know. */
export interface LayoutOptions {
  target: ValidateTarget
  /** The caption extension in use, with its dot (`.txt`). */
  captionExtension: string
  /** Files (relative paths) that are not captions though they end like one (a dataset's `tags.txt`). */
  notCaptions: ReadonlySet<string>
  active: ReadonlySet<RuleId>
}

/** The kind of a listed entry (adapters/listing.ts `FileEntryKind`): lstat-like, a symbolic link is `symlink`. */
export type LayoutEntryKind = 'file' | 'symlink' | 'fifo' | 'device' | 'socket' | 'other'

/** One listed entry below the folder checked (folders themselves are not listed; a link to one is). */
export interface LayoutEntry {
  /** Relative to the folder checked, `/`-separated. */
  path: string
  kind: LayoutEntryKind
  /**
   * For a symbolic link: where it leads, found without following it for a read (adapters/fs.ts `linkTargetSync`):
   * whether its target lies inside the folder checked, and the target's kind; undefined when it leads nowhere
   * (dangling, a loop).
   */
  link?: {inside: boolean; kind: LayoutEntryKind | 'folder'}
}

/** A name-only problem (the caller adds severity and hint). */
export interface LayoutProblem {
  rule: RuleId
  path: string
  message: string
}

/** Content to read: an image to probe and/or a caption file to check. Paths are relative, `/`-separated. */
export interface WorkItem {
  image?: string
  caption?: string
}

/** Result of the layout pass. */
export interface Layout {
  problems: LayoutProblem[]
  work: WorkItem[]
  /**
   * Images seen (any extension lora knows) and caption files seen (in the caption extension, `tags.txt` of a
   * dataset excepted), orphans and captions of unsupported images included.
   */
  images: number
  captions: number
}

interface Folder {
  /** Images by stem (a stem may have several: a collision). */
  images: Map<string, string[]>
  /** Caption files in the configured extension, by stem. */
  captions: Map<string, string>
  /** Files ending in another caption-like extension (`.caption` when `.txt` is in use, `.TXT`, ...), by stem. */
  others: Map<string, string[]>
  /** Count of all files in the folder (links to regular files included, as an archive of it would hold them). */
  files: number
  /** Images and captions that are present by name but not read (links, FIFOs, ...: reported on their own). */
  unread: Set<string>
}

/**
 * Applies the name-only rules to a folder listing.
 * @param entries every non-folder entry below the folder, as adapters/listing.ts `listFilesBelow` lists them (links
 *   described by the caller)
 */
export function checkLayout(entries: readonly LayoutEntry[], options: LayoutOptions): Layout {
  const target = TARGETS[options.target]
  const ext = options.captionExtension
  const extLower = ext.toLowerCase()
  const folders = new Map<string, Folder>()
  // Every caption file seen counts, whether or not an image reads it (an orphan, one beside an unsupported image):
  // the summary line and `checked.captions` in --json are this one number.
  let captions = 0
  const problems: LayoutProblem[] = []
  const add = (rule: RuleId, path: string, message: string) => {
    if (options.active.has(rule)) problems.push({rule, path, message})
  }
  for (const entry of entries) {
    const file = entry.path
    const slash = file.lastIndexOf('/')
    const dir = slash === -1 ? '' : file.slice(0, slash)
    const name = file.slice(slash + 1)
    if (entry.kind === 'symlink' && entry.link?.kind === 'folder') {
      folderLink(file, entry.link.inside, add)
      continue
    }
    let folder = folders.get(dir)
    if (!folder)
      folders.set(
        dir,
        (folder = {images: new Map(), captions: new Map(), others: new Map(), files: 0, unread: new Set()}),
      )
    if (entry.kind === 'file' || entry.link?.kind === 'file') folder.files++
    if (options.notCaptions.has(file)) continue
    const dot = name.lastIndexOf('.')
    if (dot <= 0) continue
    const stem = name.slice(0, dot)
    const lower = extensionOf(name)
    const image = IMAGE_LIKE.has(lower)
    const caption = !image && name.endsWith(ext)
    if (!image && !caption && !(lower === 'txt' || lower === 'caption' || '.' + lower === extLower)) continue
    if (entry.kind !== 'file') {
      notRegular(entry, image ? 'image' : 'caption file', add)
      folder.unread.add(file)
    }
    if (image) push(folder.images, stem, file)
    else if (caption) {
      folder.captions.set(stem, file)
      if (entry.kind === 'file') captions++
    } else push(folder.others, stem, file)
  }

  const work: WorkItem[] = []
  let images = 0
  const supported = new Set(target.imageExtensions)
  const extOk = (file: string) => {
    const written = file.slice(file.lastIndexOf('.') + 1)
    const lower = written.toLowerCase()
    return supported.has(lower) && (!target.caseExact || written === lower || written === lower.toUpperCase())
  }
  if (!target.captionExtensions.includes(ext)) {
    add(
      'caption-extension',
      '.',
      `Captions here are ${ext} files, but ${TARGET_NAMES[options.target]} reads ${target.captionExtensions.join(' or ')} captions.`,
    )
  }

  for (const [dir, folder] of [...folders].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const prefix = dir === '' ? '' : dir + '/'
    const defaultCaption = target.defaultCaption && folder.captions.has('default') && !folder.images.has('default')
    const read = (file: string | undefined) => (file === undefined || folder.unread.has(file) ? undefined : file)
    for (const [stem, list] of folder.images) {
      images += list.filter((file) => !folder.unread.has(file)).length
      const usable = list.filter(extOk)
      for (const file of list) {
        if (!usable.includes(file)) {
          const written = file.slice(file.lastIndexOf('.') + 1)
          const who = TARGET_NAMES[options.target]
          const why =
            target.caseExact && supported.has(written.toLowerCase())
              ? `it matches only .${written.toLowerCase()} or .${written.toUpperCase()}`
              : `${who} reads ${target.imageExtensions.join(', ')}`
          add('unsupported-format', file, `${file}: .${written} images are not read by ${who} (${why}).`)
        }
      }
      if (list.length > 1)
        add(
          'stem-collision',
          prefix + stem + ext,
          `${list.join(' and ')} share one caption file, ${prefix + stem + ext}.`,
        )
      if (usable.length === 0) {
        // The trainer reads none of them (unsupported-format, above), but one converted (by `lora export --target`, or
        // by hand) is trained on: its pixels and its caption are still checked.
        list.forEach((image, k) => {
          const item = {image: read(image), caption: k === 0 ? read(folder.captions.get(stem)) : undefined}
          if (item.image !== undefined || item.caption !== undefined) work.push(item)
        })
        continue
      }
      const caption = folder.captions.get(stem)
      const strays = folder.others.get(stem) ?? []
      for (const stray of strays) {
        add(
          'caption-extension',
          stray,
          caption
            ? `${stray} is not read (captions here are ${ext}; ${caption} is used).`
            : `${stray} is not read: captions here are ${ext} files, so ${usable[0]} has no caption.`,
        )
      }
      if (!caption && strays.length === 0 && !defaultCaption)
        add(
          'missing-caption',
          usable[0],
          `${usable.join(' and ')} ${usable.length > 1 ? 'have' : 'has'} no caption file (${prefix + stem + ext}).`,
        )
      usable.forEach((image, k) => {
        const item = {image: read(image), caption: k === 0 ? read(caption) : undefined}
        if (item.image !== undefined || item.caption !== undefined) work.push(item)
      })
    }
    for (const [stem, caption] of folder.captions) {
      if (folder.images.has(stem)) continue
      if (stem === 'default' && target.defaultCaption) {
        if (read(caption) !== undefined) work.push({caption})
        continue
      }
      add('orphan-caption', caption, `${caption} has no image of the same name beside it.`)
    }
  }

  const ignored = kohyaFolders(folders, options, add)
  if (options.target === 'civitai') civitaiLimits(folders, add)
  const readable = [...folders]
    .filter(([dir]) => !ignored.has(dir))
    .some(([, folder]) => [...folder.images.values()].some((list) => list.some(extOk)))
  if (!readable)
    add(
      'no-images',
      '.',
      images === 0
        ? 'No images found here.'
        : `No image here would be read by ${TARGET_NAMES[options.target]} (${images} found; see the other findings).`,
    )
  return {problems, work, images, captions}
}

/** A link to a folder: never walked; a warning when it leads inside the folder checked, an error when outside. */
function folderLink(path: string, inside: boolean, add: (rule: RuleId, path: string, message: string) => void): void {
  if (inside)
    add(
      'symbolic-link',
      path,
      `${path} is a symbolic link to a folder inside the folder checked; lora does not follow links, so nothing was checked through it.`,
    )
  else
    add(
      'not-regular-file',
      path,
      `${path} is a symbolic link to a folder outside the folder checked; lora does not follow links, so nothing in it was checked or read.`,
    )
}

/** An image or caption file that is not a regular file: a warning for a link to a regular file inside, else an error. */
function notRegular(
  entry: LayoutEntry,
  what: string,
  add: (rule: RuleId, path: string, message: string) => void,
): void {
  const {path, kind, link} = entry
  if (kind !== 'symlink') {
    add(
      'not-regular-file',
      path,
      `${path} is ${kindText(kind)}, not a regular ${what}; lora does not read it${kind === 'fifo' ? ' (a trainer opening it waits for good)' : ''}.`,
    )
    return
  }
  if (link?.inside && link.kind === 'file') {
    add(
      'symbolic-link',
      path,
      `${path} is a symbolic link (to a file inside the folder checked), not a regular ${what}; lora does not follow links, so it was not checked.`,
    )
    return
  }
  const where = !link
    ? 'that leads nowhere (dangling, or a loop)'
    : !link.inside
      ? 'leading outside the folder checked'
      : `to ${kindText(link.kind)}`
  add(
    'not-regular-file',
    path,
    `${path} is a symbolic link ${where}, not a regular ${what}; lora does not follow links, so it was not read.`,
  )
}

/** "a FIFO (named pipe)", ...; anything else is "something that is not a regular file". */
function kindText(kind: LayoutEntryKind | 'folder'): string {
  return kind === 'fifo' || kind === 'device' || kind === 'socket' || kind === 'folder'
    ? oddFileKindText(kind)
    : 'something that is not a regular file'
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

/**
 * The repeats kohya sd-scripts reads from a folder name (`library/config_util.py`, `extract_dreambooth_params`: `int(name.split("_")[0])`), or
 * undefined when Python's int() would fail ("ignore directory without repeats"). Folders with repeats < 1 are
 * skipped too.
 */
export function kohyaRepeats(name: string): number | undefined {
  const head = name.split('_')[0]
  if (!/^\s*[+-]?\d+\s*$/u.test(head)) return undefined
  return Number.parseInt(head, 10)
}

/**
 * kohya-folder-name. Applies with target kohya, or with target generic when the folder looks like a kohya
 * train_data_dir (a subfolder named `<n>_...`). In such a layout, sd-scripts reads images only from the immediate
 * subfolders of train_data_dir whose name starts with a whole number ≥ 1 and `_` — not from train_data_dir itself
 * nor from deeper folders. A flat folder of images (used as a dataset TOML's image_dir) is fine.
 */
function kohyaFolders(
  folders: Map<string, Folder>,
  options: LayoutOptions,
  add: (rule: RuleId, path: string, message: string) => void,
): Set<string> {
  const ignored = new Set<string>()
  if (options.target !== 'kohya' && options.target !== 'generic') return ignored
  const withImages = [...folders]
    .filter(([, f]) => f.images.size > 0)
    .map(([dir, f]) => ({dir, count: [...f.images.values()].reduce((n, l) => n + l.length, 0)}))
  const sub = withImages.filter((f) => f.dir !== '')
  if (sub.length === 0) return ignored
  const looksKohya = sub.some((f) => !f.dir.includes('/') && (kohyaRepeats(f.dir) ?? 0) >= 1)
  if (options.target === 'generic' && !looksKohya) return ignored
  for (const {dir, count} of withImages) {
    const images = counted(count, 'image')
    const repeats = dir === '' || dir.includes('/') ? undefined : kohyaRepeats(dir)
    if (repeats === undefined || repeats < 1) ignored.add(dir)
    if (dir === '') {
      add(
        'kohya-folder-name',
        '.',
        `${images} sit directly in the train_data_dir; sd-scripts reads only its <repeats>_<name> subfolders.`,
      )
    } else if (dir.includes('/')) {
      add(
        'kohya-folder-name',
        dir,
        `${dir} (${images}) is nested too deep; sd-scripts reads only the immediate subfolders of train_data_dir.`,
      )
    } else {
      if (repeats === undefined)
        add(
          'kohya-folder-name',
          dir,
          `${dir} (${images}) has no <repeats>_ prefix; sd-scripts ignores it ("ignore directory without repeats").`,
        )
      else if (repeats < 1)
        add(
          'kohya-folder-name',
          dir,
          `${dir} (${images}) has ${repeats} repeats; sd-scripts skips folders with fewer than 1.`,
        )
    }
  }
  return ignored
}

/** CivitAI: image/caption pairs at the root of the zip, at most 1,000 files. */
function civitaiLimits(folders: Map<string, Folder>, add: (rule: RuleId, path: string, message: string) => void): void {
  let total = 0
  const nested = new Set<string>()
  for (const [dir, folder] of folders) {
    total += folder.files
    if (dir !== '') nested.add(dir.split('/')[0])
  }
  if (total > 1000)
    add('civitai-limits', '.', `The folder holds ${groupDigits(total)} files; CivitAI takes at most 1,000.`)
  for (const dir of [...nested].sort())
    add('civitai-limits', dir, `${dir} is a folder; CivitAI reads image/caption pairs only at the root of the zip.`)
}
