/**
 * The check commands that read image files make first (README "Safety model", rule 9): an output image that is
 * gone, is no longer a regular file, or whose bytes differ from the state is never exported as if nothing
 * happened.
 */
import {LoraError} from '../errors.js'
import type {Dataset} from '../store/dataset.js'
import {checkImageFiles, type ImageFileProblem} from '../store/image-files.js'
import type {ImageRecord} from '../core/state.js'
import {counted, plural} from '../core/plural.js'

/**
 * The images an export may read: `images` without those whose file is missing or changed (store/image-files.ts).
 * @param skipMissing `--skip-missing`: called with the images left out, and the export goes on; when undefined,
 *   any such image refuses the export
 * @throws LoraError (exit 1, code `images-missing`) naming every missing or changed image, when `skipMissing` is
 *   undefined; nothing has been written then
 */
export async function imagesFitToExport(
  dataset: Dataset,
  images: readonly ImageRecord[],
  skipMissing?: (left: readonly ImageFileProblem[]) => void,
): Promise<ImageRecord[]> {
  const problems = await checkImageFiles(dataset, images)
  if (problems.length === 0) return [...images]
  if (skipMissing) {
    skipMissing(problems)
    const left = new Set(problems.map((p) => p.id))
    return images.filter((i) => !left.has(i.id))
  }
  const names = problems.map((p) => `${p.id} (${p.kind}: ${p.reason})`)
  const shown = names.length > 10 ? [...names.slice(0, 10), `and ${names.length - 10} more`] : names
  const changed = problems.some((p) => p.kind === 'changed')
  throw new LoraError(
    `${counted(problems.length, 'image')} in ${dataset.rel(dataset.paths.output)}/ ${plural(problems.length, 'is', 'are')} missing or changed since lora recorded them: ${shown.join(', ')}. Nothing was exported.`,
    {
      code: 'images-missing',
      hint: `Restore ${plural(problems.length, 'it', 'them')} (git checkout, or copy the original back under the same name)${changed ? '; for a change you meant, `lora status --rescan` takes it in' : ''}; or add --skip-missing to export the others.`,
    },
  )
}
