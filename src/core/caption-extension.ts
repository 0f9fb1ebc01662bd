/**
 * Which caption extensions a dataset may use (README "Safety model", rule 4). Captions are written beside the
 * images as `<id><extension>`, so an extension that is an image extension would make a caption collide with an
 * image (`--caption-ext .jpg`: `lora tag` writing text over `img_0001.jpg`), and one of the extensions of the files
 * lora keeps for itself would make its captions look like, and be taken for, those files. Pure: no I/O.
 */
import {IMAGE_EXTENSIONS} from './naming.js'

/**
 * Extensions of files lora writes other than captions: its config (`.yaml`), state, session, journal and caches
 * (`.json`, `.idx`), reference vocabularies (`.tsv`), exports (`.csv`, `.tsv`, `.json`, `.jsonl`), temp files, the
 * lock, and git's attribute and ignore files that `lora git enable` writes into the output folder. Lower case, with
 * the dot.
 */
export const RESERVED_EXTENSIONS = [
  '.json',
  '.jsonl',
  '.yaml',
  '.yml',
  '.idx',
  '.tsv',
  '.csv',
  '.lock',
  '.tmp',
  '.gitignore',
  '.gitattributes',
  '.lora-tagger',
]

/** What a caption extension must be, for messages (`"captionExtension" must be …`). */
export const CAPTION_EXTENSION_RULE =
  'a dot and up to 16 letters, digits, "_" or "-" (such as .txt or .caption), and not an image extension or one of lora\'s own files'

/**
 * What is wrong with a caption extension, or undefined when it is usable. It must be a string starting with a dot,
 * then 1–16 letters, digits, `_` or `-` (so no path separator and no second dot), and must not be an image
 * extension lora reads (any case: `.JPG` collides on case-insensitive file systems) or a reserved one.
 *
 * @returns the reason, naming the value: `.jpg is an image extension: caption files would collide with the images`
 */
export function captionExtensionProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `${JSON.stringify(value)} is not a text value`
  if (!value.startsWith('.')) return `"${value}" has no leading dot`
  if (/[/\\]/u.test(value)) return `"${value}" holds a path separator`
  if (!/^\.[A-Za-z0-9_-]{1,16}$/u.test(value))
    return `"${value}" is not a plain extension (a dot, then 1 to 16 letters, digits, "_" or "-")`
  const lower = value.toLowerCase()
  if ((IMAGE_EXTENSIONS as readonly string[]).includes(lower.slice(1)))
    return `${value} is an image extension: caption files would collide with the images`
  if (RESERVED_EXTENSIONS.includes(lower)) return `${value} is the extension of files lora keeps for itself`
  return undefined
}

/** The hint that goes with a refused caption extension. */
export const CAPTION_EXTENSION_HINT = "Use .txt (kohya_ss GUI, ai-toolkit, CivitAI) or .caption (sd-scripts' default)."
