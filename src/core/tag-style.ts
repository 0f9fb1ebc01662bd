/**
 * Tag style: how a tag is written to a caption. `spaces` turns `long_hair` into `long hair` (what kohya's WD14
 * tagger writes with `--remove_underscore`, and most Flux captions use); `underscores` does the reverse
 * (danbooru's own form); `keep` writes tags as typed. Kaomoji such as `^_^` and tags of 3 characters or fewer
 * keep their underscores, as in kohya sd-scripts `finetune/tag_images_by_wd14_tagger.py` (its `kaomojis` list)
 * and TagGUI.
 */
import type {TagStyle} from './config.js'
import {normalizeTag} from './caption.js'

/** Kaomoji whose underscores are part of the face (kohya sd-scripts `tag_images_by_wd14_tagger.py`). */
export const KAOMOJI = new Set([
  '0_0',
  '(o)_(o)',
  '+_+',
  '+_-',
  '._.',
  '<o>_<o>',
  '<|>_<|>',
  '=_=',
  '>_<',
  '3_3',
  '6_9',
  '>_o',
  '@_@',
  '^_^',
  'o_o',
  'u_u',
  'x_x',
  '|_|',
  '||_||',
])

/** The style settings from config. */
export interface StyleOptions {
  tagStyle: TagStyle
  lowercase: boolean
}

/** True when a tag's underscores must stay (kaomoji, or 3 characters or fewer). */
export function keepsUnderscores(tag: string): boolean {
  return tag.length <= 3 || KAOMOJI.has(tag)
}

/** Writes one tag in the configured style (normalised first). */
export function styleTag(tag: string, options: StyleOptions): string {
  let out = normalizeTag(tag)
  if (options.tagStyle === 'spaces' && !keepsUnderscores(out)) out = normalizeTag(out.replace(/_/gu, ' '))
  else if (options.tagStyle === 'underscores') out = out.replace(/ /gu, '_')
  if (options.lowercase) out = out.toLowerCase()
  return out
}

/** Styles a list of tags, dropping repeats the styling creates (`long_hair` and `long hair` become one). */
export function styleTags(tags: readonly string[], options: StyleOptions): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const tag of tags) {
    const styled = styleTag(tag, options)
    if (styled === '' || seen.has(styled)) continue
    seen.add(styled)
    out.push(styled)
  }
  return out
}
