/**
 * The prompts image generators embedded in a dataset's images, as tags (issue 14, "Suggestions without a model"):
 * what `lora show` reports and what `lora autotag --from prompt` uses as its predictions.
 */
import {readEmbeddedPrompt} from '../adapters/image-metadata.js'
import {type GenerationPrompt, promptTags} from '../core/generation-prompt.js'
import type {ImageRecord} from '../core/state.js'
import {tagControlProblem} from '../core/terminal-text.js'
import type {Dataset} from '../store/dataset.js'

/**
 * The generator prompt of `image`: the one `lora init` recorded in state.json, else (an image imported by a lora
 * that did not read prompts, or whose file has none) the one its file in the output folder holds now, read with
 * bounded reads and never through a symbolic link; null when there is none or the file cannot be read. Never
 * throws.
 */
export function imagePrompt(dataset: Dataset, image: ImageRecord): GenerationPrompt | null {
  return image.prompt ?? readEmbeddedPrompt(dataset.imagePath(image.file))
}

/** An image's prompt and the tags of its positive prompt. */
export interface PromptTags {
  /** The prompt (`imagePrompt`), or null. */
  prompt: GenerationPrompt | null
  /**
   * The positive prompt split into tags (core/generation-prompt.ts `promptTags`: weights and syntax removed, one
   * spelling per tag), without tags holding control or bidi characters (they are refused at every way in,
   * README "Safety model"); `[]` without a prompt. Not yet in the dataset's tag style: the caller applies it.
   */
  tags: string[]
}

/**
 * The tags the prompt embedded in `image` suggests (for `lora autotag --from prompt`). Reads nothing but the image
 * file when state.json has no prompt for it; writes nothing. Never throws.
 */
export function imagePromptTags(dataset: Dataset, image: ImageRecord): PromptTags {
  const prompt = imagePrompt(dataset, image)
  const tags = prompt ? promptTags(prompt.positive).filter((tag) => tagControlProblem(tag) === undefined) : []
  return {prompt, tags}
}
