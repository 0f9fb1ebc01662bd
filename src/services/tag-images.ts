/** `lora tag`: non-interactive caption edits for scripts, on named images or a bulk selection. */
import {UsageError} from '../errors.js'
import {parseTagList, uniqueCaptionTags} from '../core/caption.js'
import type {Dataset} from '../store/dataset.js'
import {resolveImageRef} from '../core/image-ref.js'
import type {ImageRecord} from '../core/state.js'
import {tagSubject} from '../core/commit-message.js'
import {applyCaptionEdits, type CaptionEdit, type EditResult} from '../store/caption-files.js'
import {withWriteTransaction} from '../store/transaction.js'
import {refuseControlTags} from '../core/terminal-text.js'

/** What to change. Tag lists are already split (`--add a,b` → ['a', 'b']). */
export interface TagChange {
  add: string[]
  remove: string[]
  /** Replace all tags with these (`--set`). */
  set?: string[]
  clear: boolean
  skip: boolean
  /**
   * Bring skipped images back (`--unskip`): their status follows their tags again (tagged, or pending without any),
   * and a skip reason (`lora curate --apply`) is dropped. An image that is not skipped is left as it is unless
   * another change applies to it.
   */
  unskip?: boolean
}

/** Which images, and how. */
export interface TagOptions {
  /** Image references as typed (number, id, file name, path). */
  refs: string[]
  all: boolean
  pending: boolean
  /** Only images having every one of these tags. */
  with: string[]
  /** Only images having none of these tags. */
  without: string[]
  change: TagChange
  /** Lines read from stdin for `--stdin`: `<image>\t<tags>`, or tags alone when exactly one image is named. */
  stdinLines?: string[]
  dryRun: boolean
  cwd: string
  /** False for `--no-commit`. */
  commit?: boolean
}

/** `lora tag --json`: per image what changed, and totals. */
export interface TagReport {
  dryRun: boolean
  images: EditResult[]
  changed: number
  /** The commit recording the change, when history is on. */
  commit?: string
}

/**
 * Runs `lora tag`.
 * @throws UsageError for no selection, no change, contradictory flags, unknown images, or a tag to add or set
 *   (`--add`, `--set`, stdin) holding a control or bidi character (core/terminal-text.ts)
 * @throws DatasetBusyError when another writer holds the dataset; GitError when history is on and the repository
 *   cannot take a commit (nothing changed); NotCommittedError when the change was saved but its commit failed
 */
export async function tagImages(dataset: Dataset, options: TagOptions): Promise<TagReport> {
  const {change} = options
  const hasChange =
    change.add.length > 0 ||
    change.remove.length > 0 ||
    change.set !== undefined ||
    change.clear ||
    change.skip ||
    change.unskip === true
  if (options.stdinLines === undefined && !hasChange) {
    throw new UsageError('Nothing to change.', 'Give --add, --remove, --set, --clear, --skip, --unskip or --stdin.')
  }
  if (change.skip && change.unskip)
    throw new UsageError('--skip and --unskip contradict each other.', 'Use one of them.')
  if (change.set !== undefined && change.clear)
    throw new UsageError('--set and --clear contradict each other.', 'Use one of them.')
  refuseControlTags(change.add, '--add')
  refuseControlTags(change.set ?? [], '--set')
  const {result: images, commit} = await withWriteTransaction(
    dataset,
    {command: 'lora tag', commit: options.commit, dryRun: options.dryRun},
    async (tx) => {
      const state = await dataset.loadState()
      const ctx = {cwd: options.cwd, root: dataset.root, outputDir: dataset.paths.output}
      const edits: CaptionEdit[] =
        options.stdinLines === undefined
          ? selectionEdits(state.images, options, ctx)
          : stdinEdits(state.images, options, ctx)
      const results = await applyCaptionEdits(tx, state, edits, {kind: 'tag'})
      const changed = results.filter((r) => r.changed)
      return {
        result: results,
        message:
          changed.length > 0
            ? {subject: tagSubject(changed), kind: 'tag', images: changed.map((r) => r.id)}
            : undefined,
      }
    },
  )
  return {dryRun: options.dryRun, images, changed: images.filter((r) => r.changed).length, commit}
}

function selectionEdits(
  images: readonly ImageRecord[],
  options: TagOptions,
  ctx: Parameters<typeof resolveImageRef>[2],
): CaptionEdit[] {
  const bulk = options.all || options.pending || options.with.length > 0 || options.without.length > 0
  if (options.refs.length === 0 && !bulk) {
    throw new UsageError(
      'No images selected.',
      'Name images (42, img_0042, a file or path) or select with --all, --pending, --with TAG, --without TAG.',
    )
  }
  let selected =
    options.refs.length > 0 ? uniqueImages(options.refs.map((r) => resolveImageRef(images, r, ctx))) : [...images]
  if (options.pending) selected = selected.filter((i) => i.status === 'pending')
  if (options.with.length > 0) selected = selected.filter((i) => options.with.every((t) => i.tags.includes(t)))
  if (options.without.length > 0) selected = selected.filter((i) => !options.without.some((t) => i.tags.includes(t)))
  const {change} = options
  const onlyUnskip =
    change.unskip === true &&
    !change.clear &&
    change.set === undefined &&
    change.add.length === 0 &&
    change.remove.length === 0
  return selected.map((image) => ({
    image,
    apply(current) {
      // Only --unskip: an image that is not skipped keeps its caption and status exactly (auto stays auto).
      if (onlyUnskip && image.status !== 'skipped') return undefined
      let tags = change.clear ? [] : (change.set ?? current)
      const drop = new Set(change.remove)
      tags = uniqueCaptionTags([...tags.filter((t) => !drop.has(t)), ...change.add.filter((t) => !drop.has(t))])
      return {tags, status: statusAfterEdit(image, change)}
    },
  }))
}

/**
 * The status `lora tag` gives an image it edits: skipped with `--skip`; a skipped image stays skipped (its skip
 * reason too) unless `--unskip` (an edit of many images, `--all --add WORD`, is not a person bringing back the images
 * they or `lora curate --apply` left out); otherwise undefined: tagged when it has a tag besides the trigger word,
 * else pending (an `auto` image edited by a person is reviewed).
 */
function statusAfterEdit(image: ImageRecord, change: TagChange): 'skipped' | undefined {
  return change.skip || (image.status === 'skipped' && change.unskip !== true) ? 'skipped' : undefined
}

function stdinEdits(
  images: readonly ImageRecord[],
  options: TagOptions,
  ctx: Parameters<typeof resolveImageRef>[2],
): CaptionEdit[] {
  const lines = (options.stdinLines ?? []).filter((l) => l.trim() !== '')
  const edits: CaptionEdit[] = []
  const one = options.refs.length === 1 ? resolveImageRef(images, options.refs[0], ctx) : undefined
  if (options.refs.length > 1)
    throw new UsageError(
      '--stdin takes at most one image argument.',
      'Name one image, or give `<image>\\t<tags>` lines on stdin.',
    )
  if (one && lines.length > 1)
    throw new UsageError(
      'With one image named, --stdin expects a single line of tags.',
      'Drop the image argument and prefix each line with `<image>\\t`.',
    )
  for (const [index, line] of lines.entries()) {
    let image: ImageRecord
    let tagText: string
    if (one) {
      image = one
      tagText = line
    } else {
      const tab = line.indexOf('\t')
      if (tab < 0)
        throw new UsageError(
          `stdin line ${index + 1} has no tab: ${JSON.stringify(line.slice(0, 60))}.`,
          'Write lines as `<image>\\t<tags>`, or name exactly one image.',
        )
      try {
        image = resolveImageRef(images, line.slice(0, tab), ctx)
      } catch (error) {
        // Which line named it: a script's input may hold thousands.
        if (error instanceof UsageError) throw new UsageError(`stdin line ${index + 1}: ${error.message}`, error.hint)
        throw error
      }
      tagText = line.slice(tab + 1)
    }
    const tags = parseTagList(tagText)
    refuseControlTags(tags, `stdin line ${index + 1}`)
    edits.push({image, apply: () => ({tags, status: statusAfterEdit(image, options.change)})})
  }
  return edits
}

function uniqueImages(images: ImageRecord[]): ImageRecord[] {
  return [...new Map(images.map((i) => [i.id, i])).values()]
}
