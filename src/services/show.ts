/**
 * `lora show IMAGE`: everything lora knows about one image, read-only (the porcelain and plumbing form of one
 * image, as `git show` is of one object). Its report is the `--json` shape documented in README.md ("lora show").
 */
import {parseCaption} from '../core/caption.js'
import {resolveImageRef} from '../core/image-ref.js'
import type {ImageStatus} from '../core/state.js'
import type {Dataset} from '../store/dataset.js'
import {checkImageFiles} from '../store/image-files.js'
import type {GenerationPrompt} from '../core/generation-prompt.js'
import {imagePrompt} from './prompt-tags.js'

/** Something later commands found out about the image, for people and scripts. */
export interface ShowProblem {
  /**
   * `missing`: its file in the output folder is gone or no longer a regular file; `changed`: that file's bytes
   * differ from what lora recorded (both as `lora status` reports them); `caption-encoding`: the caption file is
   * not UTF-8 or BOM-marked UTF-16 text; `caption-edited`: the caption file's tags differ from the state's (edited
   * outside lora: `lora status --rescan` takes them in).
   */
  kind: 'missing' | 'changed' | 'caption-encoding' | 'caption-edited'
  /** For people: what was found. */
  reason: string
}

/** One image (`lora show --json`). */
export interface ShowReport {
  /** The image's id, e.g. `img_0042`. */
  id: string
  /** Its file name in the output folder. */
  file: string
  /** The absolute path of that file. */
  path: string
  /** Its original, relative to the dataset folder (`/`-separated), as imported. */
  source: string
  /** The caption file, relative to the dataset folder (`output/img_0042.txt`); it may not exist yet. */
  caption: string
  /** Size in pixels as displayed (EXIF orientation applied). */
  width: number
  height: number
  /** The format sharp reported (`jpeg`, `png`, ...). */
  format: string
  /** Size of the file in bytes, and the sha256 of its bytes (lowercase hex), as lora recorded them. */
  bytes: number
  sha256: string
  status: ImageStatus
  /**
   * The caption file's tags in order (what a trainer reads; the trigger word first when one is set); `[]` when
   * there is no caption file; the state's tags when the caption file cannot be read as text.
   */
  tags: string[]
  /** The dataset's trigger word, or null. */
  trigger: string | null
  /** When the image was last tagged or skipped (ISO 8601), or null. */
  updatedAt: string | null
  /** The originals found later with the same bytes, not imported (relative to the dataset folder). */
  duplicates: string[]
  /** What is wrong with the image's files now; `[]` when nothing is. */
  problems: ShowProblem[]
  /**
   * The prompt an image generator embedded in the file (`{positive, negative, generator}`: README "lora show"), as
   * `lora init` recorded it, or read from the file when the state has none; null when there is none.
   */
  prompt: GenerationPrompt | null
  /**
   * Why the image is skipped, when a command decided it (`lora curate --apply`: `near-duplicate of img_0004
   * (distance 3)`); null otherwise (not skipped, or skipped by hand).
   */
  skipReason: string | null
}

/**
 * Everything lora knows about the image `ref` names (a number, id, file name, path, or original's path or name:
 * core/image-ref.ts), with a check of its file (one lstat; its sha256 only when size matches and mtime does not)
 * and of its caption file. Writes nothing.
 * @param options.cwd what a relative path in `ref` is relative to
 * @throws UsageError when `ref` names no image, or an original's name names several;
 *   DatasetError when the caption file is a symbolic link, FIFO or folder
 */
export async function showImage(dataset: Dataset, ref: string, options: {cwd: string}): Promise<ShowReport> {
  const state = await dataset.loadState()
  const image = resolveImageRef(state.images, ref, {
    cwd: options.cwd,
    root: dataset.root,
    outputDir: dataset.paths.output,
  })
  const problems: ShowProblem[] = (await checkImageFiles(dataset, [image])).map((p) => ({
    kind: p.kind,
    reason: p.reason,
  }))
  const read = await dataset.readCaptionChecked(image.file)
  let tags = image.tags
  if (read.problem !== undefined) problems.push({kind: 'caption-encoding', reason: read.problem})
  else {
    tags = read.text === undefined ? [] : parseCaption(read.text, dataset.config.separator)
    if (tags.join('\n') !== image.tags.join('\n'))
      problems.push({
        kind: 'caption-edited',
        reason: `${read.path} holds other tags than lora recorded (${image.tags.length === 0 ? 'none' : image.tags.join(', ')}); \`lora status --rescan\` takes them in`,
      })
  }
  return {
    id: image.id,
    file: image.file,
    path: dataset.imagePath(image.file),
    source: image.source,
    caption: read.path,
    width: image.width,
    height: image.height,
    format: image.format,
    bytes: image.bytes,
    sha256: image.sha256,
    status: image.status,
    tags,
    trigger: dataset.config.trigger,
    updatedAt: image.updatedAt,
    duplicates: state.duplicates.filter((d) => d.of === image.id).map((d) => d.source),
    problems,
    prompt: imagePrompt(dataset, image),
    skipReason: image.status === 'skipped' ? (image.skipReason ?? null) : null,
  }
}
