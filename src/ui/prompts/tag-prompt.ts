/**
 * The tag prompt of `lora next` / `lora resume`, built on @inquirer/core: the image's current tags on top, an
 * input line with autocomplete from the vocabulary below, and a help line with the keys.
 *
 * Keys: typing filters suggestions; ⇥ adds the highlighted suggestion; ↑↓ choose a suggestion; ⏎ adds the
 * typed tag (or the chosen suggestion; commas add several), and on an empty line saves; `-tag` ⏎ removes a tag;
 * ⌫ on an empty line removes the last tag; Ctrl-S skips the image; Esc quits without saving; Ctrl-C cancels.
 * Tags, suggestions and the typed text are shown with control and bidi characters escaped, and a typed or pasted
 * tag holding one is refused with a note (core/terminal-text.ts; README "Safety model").
 */
import {
  createPrompt,
  isBackspaceKey,
  isDownKey,
  isEnterKey,
  isTabKey,
  isUpKey,
  type KeypressEvent,
  useKeypress,
  useMemo,
  useState,
} from '@inquirer/core'
import type {ChalkInstance} from 'chalk'
import {normalizeTag, parseTagList, uniqueTags} from '../../core/caption.js'
import {foldTag, type Suggestion} from '../../core/vocabulary.js'
import {categoryLabel} from '../../core/categories.js'
import {escapeControls as esc, tagControlProblem} from '../../core/terminal-text.js'

/** What the prompt needs. */
export interface TagPromptConfig {
  /** First line, e.g. `img_0012 (cat.jpg, 640×480) — 11/250 tagged`. */
  message: string
  /** The image's current tags (trigger word first when there is one). */
  tags: string[]
  /** The trigger word: shown, never removable. */
  trigger?: string
  /** Suggestions for the typed text, excluding tags already on the image. */
  suggest(input: string, exclude: ReadonlySet<string>): Suggestion[]
  /** Colours (from the Terminal, so NO_COLOR and --no-color apply). */
  color: ChalkInstance
  /** Suggestions shown at once. */
  pageSize?: number
  /** Writes an added tag in the dataset's style (default: as typed). */
  style?: (tag: string) => string
}

/** The user's decision. */
export type TagAnswer = {action: 'save'; tags: string[]} | {action: 'skip'} | {action: 'quit'}

/** The help line (also documented in README). */
export const TAG_PROMPT_KEYS: [string, string][] = [
  ['⏎', 'add tag / save when empty'],
  ['⇥', 'accept suggestion'],
  ['↑↓', 'choose'],
  ['⌫', 'remove last tag'],
  ['-tag⏎', 'remove tag'],
  ['ctrl-s', 'skip image'],
  ['esc', 'quit'],
]

/**
 * The details after a suggestion: the alias typed, the reference category (named and coloured in its reference's
 * scheme, core/categories.ts; a bare `cat N` where the scheme has no name for it) and post count. Use in this
 * dataset shows as `(N)` right after the tag.
 */
function describe(s: Suggestion, color: ChalkInstance): string {
  const parts: string[] = []
  if (s.alias) parts.push(color.dim(`← ${esc(s.alias)}`))
  const category = s.category === undefined ? undefined : categoryLabel(s.scheme, s.category)
  if (category) parts.push(category.color ? color[category.color](category.label) : color.dim(category.label))
  if (s.posts) parts.push(color.dim(compactCount(s.posts)))
  return parts.length ? '  ' + parts.join(' ') : ''
}

function compactCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`
  return String(n)
}

export const tagPrompt = createPrompt<TagAnswer, TagPromptConfig>((config, done) => {
  const {color} = config
  const pageSize = config.pageSize ?? 7
  const [tags, setTags] = useState<string[]>(config.tags)
  const [input, setInput] = useState('')
  const [active, setActive] = useState(0)
  const [chosen, setChosen] = useState(false)
  const [status, setStatus] = useState<'idle' | TagAnswer['action']>('idle')
  const [note, setNote] = useState('')

  const removing = input.startsWith('-')
  const suggestions = useMemo<Suggestion[]>(() => {
    if (removing) {
      const q = foldTag(input.slice(1))
      return tags
        .filter((t) => t !== config.trigger && foldTag(t).includes(q))
        .map((tag) => ({tag, count: 0, match: 'substring' as const}))
    }
    return config.suggest(input, new Set(tags))
  }, [input, tags])
  const highlighted: Suggestion | undefined = suggestions[Math.min(active, suggestions.length - 1)]

  const addTags = (list: string[]) => {
    const styled = list.map((t) => (config.style ? config.style(t) : normalizeTag(t))).filter((t) => t !== '')
    const refused = styled.map(tagControlProblem).find(Boolean)
    const fresh = styled.filter((t) => !tagControlProblem(t))
    setTags(uniqueTags([...tags, ...fresh]))
    setNote(
      [fresh.length > 0 ? `added ${fresh.map((t) => esc(t)).join(', ')}` : '', refused ? `refused: ${refused}` : '']
        .filter(Boolean)
        .join('; '),
    )
  }
  const removeTag = (tag: string) => {
    const target = tags.find((t) => t === tag) ?? tags.find((t) => foldTag(t) === foldTag(tag))
    if (!target || target === config.trigger) {
      setNote(target ? `the trigger word ${esc(target)} stays` : `no tag ${esc(tag)} on this image`)
      return
    }
    setTags(tags.filter((t) => t !== target))
    setNote(`removed ${esc(target)}`)
  }
  const resetInput = (rl: {clearLine(dir: 0): void}) => {
    rl.clearLine(0)
    setInput('')
    setActive(0)
    setChosen(false)
  }

  useKeypress((key: KeypressEvent & {sequence?: string}, rl) => {
    if (status !== 'idle') return
    if (key.name === 'escape') {
      setStatus('quit')
      done({action: 'quit'})
      return
    }
    if (key.ctrl && key.name === 's') {
      setStatus('skip')
      done({action: 'skip'})
      return
    }
    if (isEnterKey(key)) {
      // readline has already cleared its line; `input` holds what was typed.
      const typed = input.trim()
      if (typed === '' && !chosen) {
        setStatus('save')
        done({action: 'save', tags})
        return
      }
      if (removing) removeTag(chosen && highlighted ? highlighted.tag : typed.slice(1))
      else if (chosen && highlighted) addTags([highlighted.tag])
      else addTags(parseTagList(typed))
      resetInput(rl)
      return
    }
    if (isTabKey(key) && highlighted) {
      if (removing) removeTag(highlighted.tag)
      else addTags([highlighted.tag])
      resetInput(rl)
      return
    }
    if (isTabKey(key)) {
      rl.clearLine(0)
      rl.write(input)
      return
    }
    if (isUpKey(key) || isDownKey(key)) {
      rl.clearLine(0)
      rl.write(input)
      if (suggestions.length > 0) {
        const next = isUpKey(key)
          ? Math.max(0, active - (chosen ? 1 : 0))
          : chosen
            ? Math.min(suggestions.length - 1, active + 1)
            : active
        setActive(next)
        setChosen(true)
      }
      return
    }
    if (isBackspaceKey(key) && input === '') {
      const last = [...tags].reverse().find((t) => t !== config.trigger)
      if (last) removeTag(last)
      return
    }
    setInput(rl.line)
    setActive(0)
    setChosen(false)
    setNote('')
  })

  const shownTags =
    tags.length === 0
      ? color.dim('(no tags yet)')
      : tags.map((t) => (t === config.trigger ? color.magenta(esc(t)) : color.green(esc(t)))).join(color.dim(', '))
  if (status === 'save') return `${color.green('✔')} ${config.message}: ${shownTags}`
  if (status === 'skip') return `${color.yellow('↷')} ${config.message}: skipped`
  if (status === 'quit') return `${color.red('✖')} ${config.message}: not saved`

  const start = Math.max(0, Math.min(active - pageSize + 1, suggestions.length - pageSize))
  const page = suggestions.slice(start, start + pageSize).map((s, i) => {
    const isActive = chosen && start + i === active
    const label = `${isActive ? '❯' : ' '} ${esc(s.tag)}${s.count > 0 ? color.dim(` (${s.count})`) : ''}`
    return (isActive ? color.cyan(label) : label) + describe(s, color)
  })
  const help = TAG_PROMPT_KEYS.map(([k, what]) => `${color.bold(k)} ${color.dim(what)}`).join(color.dim(' · '))
  const body = [...page, ...(note ? [color.dim(note)] : []), help]
  const content = `${color.blue('?')} ${config.message}\n  ${color.dim('tags:')} ${shownTags}\n${color.cyan('›')} ${esc(input)}`
  return [content, body.join('\n')]
})
