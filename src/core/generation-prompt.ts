/**
 * Prompts that image generators embed in their images, and the tags they hold (issue 14, "Suggestions without a
 * model"). Pure: the metadata text fields come from adapters/image-metadata.ts (PNG tEXt/iTXt/zTXt keywords, the
 * EXIF UserComment of a JPEG or WebP, JPEG COM segments); this module tells which generator wrote them and takes
 * the positive and negative prompts out. The formats, from each generator's source (../shared/FORMATS.md):
 *
 * - AUTOMATIC1111 and Forge (`modules/infotext_utils.py`, `modules/images.py`): key `parameters` (PNG), or the EXIF
 *   UserComment (JPEG/WebP). Prompt lines, then a line starting `Negative prompt:` and the lines after it, then a
 *   last line of settings (`Steps: 20, Sampler: Euler a, Seed: 1, ...`), which counts as settings only when it
 *   holds at least 3 `key: value` pairs (`re_param_code`).
 * - ComfyUI (`nodes.py` `SaveImage`): key `prompt`, the API graph as JSON, `{node_id: {class_type, inputs}}`, where
 *   an input linked to another node's output is `[node_id, output_index]`; key `workflow`, the editor's graph
 *   (`{nodes: [{id, type, mode, inputs, outputs, widgets_values}], links: [[id, from, slot, to, slot, type]]}`).
 * - NovelAI: keys `Software` (`NovelAI`), `Description` (the prompt) and `Comment` (JSON: `prompt`, `uc` the
 *   negative ("undesired content"); V4 adds `v4_prompt.caption.base_caption`).
 * - InvokeAI: `invokeai_metadata` (3.x and later: JSON with `positive_prompt`, `negative_prompt`); 2.x wrote
 *   `sd-metadata` (JSON, `image.prompt` a string or a list of `{prompt, weight}`) and `Dream`
 *   (`"prompt text" -s 50 -S 42 ...`), where text in `[...]` is the negative prompt.
 * - Fooocus (`modules/meta_parser.py`): `parameters` holding JSON (`prompt`, `negative_prompt`,
 *   `metadata_scheme: "fooocus"`) and `fooocus_scheme` naming the scheme; with the `a1111` scheme, `parameters` is
 *   AUTOMATIC1111 text.
 */

/** Which generator's layout a prompt was read from (a stable value of `lora show --json`, README). */
export type Generator = 'automatic1111' | 'comfyui' | 'novelai' | 'invokeai' | 'fooocus'

/** The prompt embedded in an image: `positive` and `negative` are the text as written (`''` when absent). */
export interface GenerationPrompt {
  positive: string
  negative: string
  generator: Generator
}

/**
 * The metadata text fields of one image, by key: PNG text chunk keywords as written (`parameters`, `prompt`,
 * `workflow`, `Description`, `Comment`, `Software`, `invokeai_metadata`, `sd-metadata`, `Dream`,
 * `fooocus_scheme`), `UserComment` for the EXIF UserComment, `comment` for a JPEG COM segment. When a key occurs
 * twice the first is kept.
 */
export type MetadataFields = Readonly<Record<string, string>>

/** The longest prompt kept, in characters (longer ones are cut at the last comma before it): state.json stays small. */
export const MAX_PROMPT_CHARS = 10_000

/**
 * The prompt the fields hold, or null when no known generator's layout is found (or its prompt is empty).
 * Never throws: malformed JSON or an unexpected shape is skipped and the next layout tried.
 */
export function parseGenerationPrompt(fields: MetadataFields): GenerationPrompt | null {
  const found = fooocus(fields) ?? invokeAI(fields) ?? comfyUI(fields) ?? novelAI(fields) ?? automatic1111Fields(fields)
  if (!found || (found.positive.trim() === '' && found.negative.trim() === '')) return null
  return {positive: cap(found.positive.trim()), negative: cap(found.negative.trim()), generator: found.generator}
}

function cap(text: string): string {
  if (text.length <= MAX_PROMPT_CHARS) return text
  const cut = text.slice(0, MAX_PROMPT_CHARS)
  const comma = cut.lastIndexOf(',')
  return comma > MAX_PROMPT_CHARS / 2 ? cut.slice(0, comma) : cut
}

function json(text: string | undefined): unknown {
  if (text === undefined) return undefined
  const t = text.trim()
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined
  try {
    return JSON.parse(t)
  } catch {
    return undefined
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '')

/** The free-text fields an AUTOMATIC1111-style writer may use: PNG `parameters`, EXIF UserComment, JPEG COM. */
function textFields(fields: MetadataFields): string[] {
  return [fields.parameters, fields.UserComment, fields.comment].filter((t): t is string => t !== undefined)
}

function fooocus(fields: MetadataFields): GenerationPrompt | undefined {
  for (const text of textFields(fields)) {
    const doc = json(text)
    if (!isObject(doc) || typeof doc.prompt !== 'string') continue
    const scheme = str(doc.metadata_scheme) || str(fields.fooocus_scheme)
    if (scheme === 'fooocus' || str(doc.version).startsWith('Fooocus'))
      return {positive: doc.prompt, negative: str(doc.negative_prompt), generator: 'fooocus'}
  }
  // The `a1111` scheme: AUTOMATIC1111 text, written by Fooocus.
  if (fields.fooocus_scheme !== undefined && fields.parameters !== undefined) {
    const a = parseAutomatic1111(fields.parameters)
    if (a) return {...a, generator: 'fooocus'}
  }
  return undefined
}

function invokeAI(fields: MetadataFields): GenerationPrompt | undefined {
  const meta = json(fields.invokeai_metadata)
  if (isObject(meta)) {
    const positive = str(meta.positive_prompt) || str(meta.prompt)
    if (positive || str(meta.negative_prompt))
      return {positive, negative: str(meta.negative_prompt), generator: 'invokeai'}
  }
  const sd = json(fields['sd-metadata'])
  if (isObject(sd) && isObject(sd.image)) {
    const p = sd.image.prompt
    const text = Array.isArray(p)
      ? p
          .map((x) => (isObject(x) ? str(x.prompt) : ''))
          .filter(Boolean)
          .join(', ')
      : str(p)
    if (text) return {...invokeBrackets(text), generator: 'invokeai'}
  }
  if (fields.Dream !== undefined) {
    const text = dreamPrompt(fields.Dream)
    if (text) return {...invokeBrackets(text), generator: 'invokeai'}
  }
  return undefined
}

/** The quoted prompt at the start of an InvokeAI 2.x `Dream` line: `"a cat [dog]" -s 50 -S 42`. */
function dreamPrompt(dream: string): string {
  const t = dream.trim()
  if (!t.startsWith('"')) return t.split(/\s+-[A-Za-z]/u)[0] ?? ''
  // The closing quote is the one followed by the end or by the options (` -s`).
  const close = /"(?=\s*$|\s+-)/u.exec(t.slice(1))
  return close ? t.slice(1, 1 + close.index) : t.slice(1)
}

/** InvokeAI 2.x: text in square brackets is the negative prompt (`a cat [dog, blurry]`). */
function invokeBrackets(text: string): {positive: string; negative: string} {
  const negative: string[] = []
  const positive = text.replace(/\[([^[\]]*)\]/gu, (_, inner: string) => {
    negative.push(inner.trim())
    return ''
  })
  return {positive: positive.replace(/\s+,/gu, ',').trim(), negative: negative.filter(Boolean).join(', ')}
}

function novelAI(fields: MetadataFields): GenerationPrompt | undefined {
  const comment = json(fields.Comment)
  const isNovel = str(fields.Software).startsWith('NovelAI') || (isObject(comment) && 'uc' in comment)
  if (!isNovel) return undefined
  let positive = str(fields.Description)
  let negative = ''
  if (isObject(comment)) {
    const v4 = isObject(comment.v4_prompt) && isObject(comment.v4_prompt.caption) ? comment.v4_prompt.caption : {}
    const v4neg =
      isObject(comment.v4_negative_prompt) && isObject(comment.v4_negative_prompt.caption)
        ? comment.v4_negative_prompt.caption
        : {}
    positive = str(comment.prompt) || str(v4.base_caption) || positive
    negative = str(comment.uc) || str(v4neg.base_caption)
  }
  return positive || negative ? {positive, negative, generator: 'novelai'} : undefined
}

function automatic1111Fields(fields: MetadataFields): GenerationPrompt | undefined {
  for (const text of textFields(fields)) {
    if (json(text) !== undefined) continue
    // PNG `parameters` is A1111's own key. An EXIF UserComment or a JPEG comment is any writer's free text (a
    // camera's note, a licence line): it counts only when it reads as infotext, with A1111's settings line.
    if (text !== fields.parameters && !looksLikeInfotext(text)) continue
    const a = parseAutomatic1111(text)
    if (a) return {...a, generator: 'automatic1111'}
  }
  return undefined
}

/** True when the last line of `text` is A1111's settings line (`Steps: 20, Sampler: …`, at least 3 pairs). */
function looksLikeInfotext(text: string): boolean {
  const last = text.trim().replace(/\r\n?/gu, '\n').split('\n').at(-1) ?? ''
  return /^Steps: \d+/u.test(last) && [...last.matchAll(SETTING)].filter((m) => m[0].trim() !== '').length >= 3
}

/** A1111's `re_param_code`: `key: value` pairs of the settings line (a value may be a quoted string). */
const SETTING = /\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/gu

/**
 * Splits AUTOMATIC1111 infotext (`parse_generation_parameters` in `modules/infotext_utils.py`): the last line is
 * the settings when it has at least 3 `key: value` pairs; the lines from the one starting `Negative prompt:` on
 * are the negative prompt, the lines before it the positive one.
 * @returns undefined for empty text
 */
export function parseAutomatic1111(text: string): {positive: string; negative: string} | undefined {
  const lines = text.trim().replace(/\r\n?/gu, '\n').split('\n')
  if (lines.length === 1 && lines[0] === '') return undefined
  const last = lines.at(-1)!
  if (lines.length > 1 || /^Steps: /u.test(last)) {
    if ([...last.matchAll(SETTING)].filter((m) => m[0].trim() !== '').length >= 3) lines.pop()
  }
  const positive: string[] = []
  const negative: string[] = []
  let inNegative = false
  for (const raw of lines) {
    let line = raw.trim()
    if (line.startsWith('Negative prompt:')) {
      inNegative = true
      line = line.slice('Negative prompt:'.length).trim()
    }
    ;(inNegative ? negative : positive).push(line)
  }
  return {positive: positive.join('\n'), negative: negative.join('\n')}
}

// ---------------------------------------------------------------------------------------------------------------
// ComfyUI

type Link = [string, number]

function asLink(value: unknown): Link | undefined {
  return Array.isArray(value) && value.length === 2 && (typeof value[0] === 'string' || typeof value[0] === 'number')
    ? [String(value[0]), typeof value[1] === 'number' ? value[1] : 0]
    : undefined
}

/** Keys of a text encoder's string inputs (CLIPTextEncode `text`; SDXL `text_g`/`text_l`; Flux/SD3 `clip_l`...). */
const TEXT_KEYS = ['text', 'text_g', 'text_l', 'clip_l', 'clip_g', 't5xxl', 'prompt', 'string', 'value']

function comfyUI(fields: MetadataFields): GenerationPrompt | undefined {
  const graph = json(fields.prompt)
  if (isObject(graph)) {
    const found = comfyGraph(graph)
    if (found) return {...found, generator: 'comfyui'}
  }
  const workflow = json(fields.workflow)
  if (isObject(workflow)) {
    const found = comfyWorkflow(workflow)
    if (found) return {...found, generator: 'comfyui'}
  }
  return undefined
}

/**
 * The API graph: every sampler-like node (a node with a linked `positive` input: KSampler, KSamplerAdvanced,
 * SamplerCustom, CFGGuider...; or a guider's `conditioning`) has its `positive` and `negative` followed back to
 * the text encoders, through conditioning nodes (ConditioningCombine, ConditioningSetArea, unCLIPConditioning,
 * ControlNetApply..., FluxGuidance) and through nodes that give a text encoder its text. The texts found, without
 * repeats, in the order of the samplers, are joined by line breaks.
 */
function comfyGraph(graph: Record<string, unknown>): {positive: string; negative: string} | undefined {
  const node = (id: string) => {
    const n = graph[id]
    return isObject(n) && isObject(n.inputs) ? {type: str(n.class_type), inputs: n.inputs} : undefined
  }
  const positive: string[] = []
  const negative: string[] = []
  for (const id of Object.keys(graph)) {
    const n = node(id)
    if (!n) continue
    const pos = asLink(n.inputs.positive) ?? (/Guider/u.test(n.type) ? asLink(n.inputs.conditioning) : undefined)
    if (!pos) continue
    textsOf(pos, positive)
    const neg = asLink(n.inputs.negative)
    if (neg) textsOf(neg, negative)
  }

  function textsOf(link: Link, into: string[], seen = new Set<string>()): void {
    const [id, output] = link
    const key = `${id}:${output}`
    if (seen.has(key) || seen.size > 500) return
    seen.add(key)
    const n = node(id)
    if (!n) return
    if (/TextEncode/iu.test(n.type)) {
      for (const k of TEXT_KEYS) {
        const value = n.inputs[k]
        const text = typeof value === 'string' ? value : asLink(value) ? stringOf(asLink(value)!, seen) : ''
        if (text.trim() !== '' && !into.includes(text.trim())) into.push(text.trim())
      }
      return
    }
    // A node with both a positive and a negative input (ControlNetApplyAdvanced, InstructPix2PixConditioning)
    // gives them out as its outputs 0 and 1.
    const pair = asLink(n.inputs.positive) && asLink(n.inputs.negative)
    if (pair) {
      textsOf(asLink(output === 1 ? n.inputs.negative : n.inputs.positive)!, into, seen)
      return
    }
    for (const [k, value] of Object.entries(n.inputs)) {
      const next = asLink(value)
      if (next && /^(conditioning|cond)/u.test(k)) textsOf(next, into, seen)
    }
  }

  function stringOf(link: Link, seen: Set<string>): string {
    const key = `s${link[0]}:${link[1]}`
    if (seen.has(key) || seen.size > 500) return ''
    seen.add(key)
    const n = node(link[0])
    if (!n) return ''
    const parts: string[] = []
    for (const [k, value] of Object.entries(n.inputs)) {
      if (!/^(text|string|prompt|value)(_?[a-z0-9]+)?$/iu.test(k)) continue
      const text = typeof value === 'string' ? value : asLink(value) ? stringOf(asLink(value)!, seen) : ''
      if (text.trim() !== '') parts.push(text.trim())
    }
    return parts.join(', ')
  }

  return positive.length > 0 || negative.length > 0
    ? {positive: positive.join('\n'), negative: negative.join('\n')}
    : undefined
}

/**
 * The editor graph (when the API graph is missing or yields nothing): the text of every CLIPTextEncode-like node
 * that is not muted or bypassed (`mode` 2 or 4), `widgets_values[0]`; a node whose output is linked straight to an
 * input named `negative` counts as negative, every other one as positive.
 */
function comfyWorkflow(workflow: Record<string, unknown>): {positive: string; negative: string} | undefined {
  if (!Array.isArray(workflow.nodes)) return undefined
  const nodes = workflow.nodes.filter(isObject)
  const inputNameOfLink = new Map<number, string>()
  for (const n of nodes)
    for (const input of Array.isArray(n.inputs) ? n.inputs.filter(isObject) : [])
      if (typeof input.link === 'number') inputNameOfLink.set(input.link, str(input.name))
  const positive: string[] = []
  const negative: string[] = []
  for (const n of nodes) {
    if (!/TextEncode/iu.test(str(n.type)) || n.mode === 2 || n.mode === 4) continue
    const text = Array.isArray(n.widgets_values) ? str(n.widgets_values[0]).trim() : ''
    if (text === '') continue
    const links = (Array.isArray(n.outputs) ? n.outputs.filter(isObject) : []).flatMap((o) =>
      Array.isArray(o.links) ? o.links.filter((l): l is number => typeof l === 'number') : [],
    )
    const into = links.some((l) => inputNameOfLink.get(l) === 'negative') ? negative : positive
    if (!into.includes(text)) into.push(text)
  }
  return positive.length > 0 || negative.length > 0
    ? {positive: positive.join('\n'), negative: negative.join('\n')}
    : undefined
}

// ---------------------------------------------------------------------------------------------------------------
// Prompt → tags

const ESCAPES: Record<string, string> = {
  '(': '\uE000',
  ')': '\uE001',
  '[': '\uE002',
  ']': '\uE003',
  '{': '\uE004',
  '}': '\uE005',
  ':': '\uE006',
  '\\': '\uE007',
}
const UNESCAPE = new Map(Object.entries(ESCAPES).map(([k, v]) => [v, k]))

/**
 * Splits a prompt into tags, with the generators' syntax removed (FORMATS.md "Prompt syntax to strip"):
 * - emphasis `(word)`, `((word))`, `(word:1.2)`, `[word]`, NovelAI's `{word}` and `1.2::word::` lose their
 *   brackets and weights; where a group meets the next group (`(a) (b)`) the two are separate tags;
 * - prompt editing `[from:to:0.5]` gives both `from` and `to`, alternation `[a|b]` both `a` and `b`;
 * - `<lora:name:0.8>`, `<hypernet:...>`, `<lyco:...>` (any `<...>`) and ComfyUI's `embedding:name` are dropped;
 * - tags are split on commas, line breaks, `BREAK` and `AND` (composable diffusion, in capitals) and the regional
 *   prompter's `ADDCOMM`, `ADDBASE`, `ADDCOL`, `ADDROW`;
 * - InvokeAI's compel weights `word+`, `word--`, `(words)1.2` lose their `+`, `-` and number;
 * - an escaped bracket or colon (`\(`, `\:`) is kept as text: `pokemon \(creature\)` → `pokemon (creature)`;
 * - spaces are trimmed and collapsed, empty tags dropped, and a tag repeated in any case kept once (the first).
 * Underscores and case are kept (the caller applies the dataset's tag style).
 */
export function promptTags(prompt: string): string[] {
  let t = prompt.replace(/\\([()[\]{}:\\])/gu, (_, c: string) => ESCAPES[c])
  t = t.replace(/<[^<>]*>/gu, ',')
  t = t.replace(/\bembedding:[^\s,()[\]{}]+/giu, ',')
  t = t.replace(/\b(?:BREAK|AND|ADDCOMM|ADDBASE|ADDCOL|ADDROW)\b/gu, ',')
  // NovelAI 4 weights: `1.2::text::`.
  t = t.replace(/-?\d*\.?\d+::/gu, ',').replace(/::/gu, ',')
  // Weights `(word:1.2)` and prompt-editing steps `[a:b:0.5]`, `[a:0.5]`.
  t = t.replace(/:\s*-?\d*\.?\d+\s*(?=[)\]}])/gu, '')
  // InvokeAI's compel weights: `word+`, `word--`, `(words)1.2`, `(words)-`.
  t = t.replace(/([\w)])[+-]+(?=[\s,)]|$)/gu, '$1').replace(/\)\d*\.?\d+/gu, ')')
  // What is left of `[from:to]` and `[a|b]`: separate tags.
  t = t.replace(/\[([^[\]]*)\]/gu, (_, inner: string) => '[' + inner.replace(/[:|]/gu, ',') + ']')
  // A group that meets the next one is a separate tag: `(a) (b)`.
  t = t.replace(/([)\]}])\s*(?=[([{])/gu, '$1,')
  t = t.replace(/[()[\]{}]/gu, ' ')
  const seen = new Set<string>()
  const tags: string[] = []
  for (const piece of t.split(/[,\n\r|]/u)) {
    const tag = piece
      .replace(/[\uE000-\uE007]/gu, (c) => UNESCAPE.get(c)!)
      .replace(/\s+/gu, ' ')
      .trim()
    const key = tag.toLowerCase()
    if (tag === '' || seen.has(key)) continue
    seen.add(key)
    tags.push(tag)
  }
  return tags
}
