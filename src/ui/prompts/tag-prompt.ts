/**
 * The tag prompt of `lora next` / `lora resume`, built on @inquirer/core: the image's current tags on top, an
 * input line with autocomplete from the vocabulary below, and a help line with the keys.
 *
 * Keys: typing filters suggestions; ⇥ adds the highlighted suggestion (marked `⇥` from the start: the first row
 * unless ↑↓ chose another); ↑↓ choose a suggestion (marked `❯`: then ⏎ adds it too); ⏎ adds the typed tag (commas
 * add several), and on an empty line saves; `-tag` ⏎ removes a tag; ⌫ on an empty line removes the last tag;
 * Ctrl-S skips the image; Esc quits without saving; Ctrl-C cancels. The image's predicted tags (`lora autotag`'s cached
 * predictions not yet in the caption) are offered first, with the model's confidence (`blue eyes 92%`), and Ctrl-A
 * adds all of those at or above the threshold (the key help shows it when there are some); on an empty input the
 * tags that often go with the current ones in this dataset (core/co-occurrence.ts) follow, labelled `often with`. A tag the image already has, case ignored (the
 * trigger word too), is not added again: a note says it is there (core/caption.ts `uniqueCaptionTags`).
 *
 * Top to bottom: the message, the image's tags, the key help, the suggestions, a note on the last key, and the
 * input line last (so that the cursor is on the prompt's last line). The prompt is never taller or wider than the
 * terminal (`size`): the key help is flowed at word boundaries (a short form under 80 columns), the tags line
 * keeps its last tags when it would take too many rows, and the suggestion rows shrink to the rows left. After a resize (`onResize`) it clears what it drew, as the terminal
 * re-wrapped it (ui/text-layout.ts `clearAfterResize`), and draws itself afresh at the new size.
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
  useEffect,
  useKeypress,
  useMemo,
  useRef,
  useState,
} from '@inquirer/core'
import type {ChalkInstance} from 'chalk'
import {findSameTag, normalizeTag, parseTagList, uniqueCaptionTags} from '../../core/caption.js'
import {
  cellWidth,
  visibleWidth,
  clearAfterResize,
  type DrawnPrompt,
  drawnPrompt,
  flow,
  type Piece,
  truncate,
} from '../text-layout.js'
import {foldTag, type Suggestion} from '../../core/vocabulary.js'
import {categoryLabel} from '../../core/categories.js'
import {captionTagsProblem, escapeControls as esc, tagControlProblem} from '../../core/terminal-text.js'
import type {OfferedTag} from '../../core/autotag.js'
import type {CoOccurring} from '../../core/co-occurrence.js'

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
  /**
   * Loads more of what `suggest` searches (the reference index); called once the prompt is drawn, and the
   * suggestions are asked for again when it resolves (keys typed meanwhile are kept, as always). Must not reject.
   */
  loadSuggestions?: () => Promise<void>
  /**
   * Reads what `often` needs (the dataset's captions); called once `loadSuggestions` has resolved (the first key's
   * suggestions need the index, not the captions), and `often` is asked again when it resolves. Must not reject.
   */
  loadCaptions?: () => Promise<void>
  /** Colours (from the Terminal, so NO_COLOR and --no-color apply). */
  color: ChalkInstance
  /** Suggestions shown at once. */
  pageSize?: number
  /** Writes an added tag in the dataset's style (default: as typed). */
  style?: (tag: string) => string
  /** The terminal's size now, in cells (default 80 columns, unlimited rows). */
  size?: () => {columns?: number; rows?: number}
  /** Calls `listener` whenever the terminal is resized; returns a function that stops it. */
  onResize?: (listener: () => void) => () => void
  /** The model's predictions for the image (in the dataset's tag style), offered first; Ctrl-A adds the accepted ones. */
  predicted?: readonly OfferedTag[]
  /** The tags that often go with the given tags in this dataset, offered on an empty input (after the predictions). */
  often?: (tags: readonly string[]) => CoOccurring[]
  /**
   * Called once, right after the prompt is first drawn (the inline preview starts drawing then, README "Images in
   * the terminal"), with a function that gives, whenever it is called, the rows from the prompt's first row down
   * to the cursor's row as last drawn.
   */
  onShown?: (rowsAboveCursor: () => number) => void
}

/** A suggestion row: from the vocabulary, a prediction (`score`), or a co-occurrence (`often`). */
type Row = Suggestion & {score?: number; accepted?: boolean; often?: number}

/** The user's decision. */
export type TagAnswer = {action: 'save'; tags: string[]} | {action: 'skip'} | {action: 'quit'}

/** The key help (also documented in README), on terminals of 80 columns or more. */
export const TAG_PROMPT_KEYS: [string, string][] = [
  ['⏎', 'add tag / save when empty'],
  ['⇥', 'accept suggestion'],
  ['↑↓', 'choose'],
  ['⌫', 'remove last tag'],
  ['-tag⏎', 'remove tag'],
  ['ctrl-s', 'skip image'],
  ['esc', 'quit'],
]

/** The key help's short form, under 80 columns: the same keys, in as few words. */
export const TAG_PROMPT_KEYS_SHORT: [string, string][] = [
  ['⏎', 'add/save'],
  ['⇥', 'accept'],
  ['↑↓', 'choose'],
  ['⌫', 'drop last'],
  ['-tag⏎', 'remove'],
  ['^S', 'skip'],
  ['esc', 'quit'],
]

/** The accept-all key's help, long and short forms (shown before `ctrl-s` when the image has predictions to accept). */
export const ACCEPT_KEY: [string, string] = ['ctrl-a', 'accept predicted']
export const ACCEPT_KEY_SHORT: [string, string] = ['^A', 'accept AI']

/** The key help for `columns`, with the accept-all key when `accept` is true. */
export function keyHelp(columns: number, accept: boolean): [string, string][] {
  const short = columns < SHORT_HELP_BELOW
  const keys = short ? TAG_PROMPT_KEYS_SHORT : TAG_PROMPT_KEYS
  if (!accept) return keys
  const at = keys.length - 2
  return [...keys.slice(0, at), short ? ACCEPT_KEY_SHORT : ACCEPT_KEY, ...keys.slice(at)]
}

/** Below this width the key help takes its short form. */
export const SHORT_HELP_BELOW = 80

/** How an answer ended, for the line the prompt collapses to. */
export type TagOutcome = TagAnswer | {action: 'cancel'}

/**
 * The one line the prompt leaves behind when it ends (it erases itself): `✔ Tags for img_0001: a, b`,
 * `↷ …: skipped`, or `✖ …: not saved` for both Esc and Ctrl-C (`cancel`).
 */
export function collapsedLine(message: string, outcome: TagOutcome, color: ChalkInstance, trigger?: string): string {
  if (outcome.action === 'save') return `${color.green('✔')} ${message}: ${showTags(outcome.tags, color, trigger)}`
  if (outcome.action === 'skip') return `${color.yellow('↷')} ${message}: skipped`
  return `${color.red('✖')} ${message}: not saved`
}

function showTags(tags: readonly string[], color: ChalkInstance, trigger?: string): string {
  return tags.length === 0
    ? color.dim('(no tags yet)')
    : tags.map((t) => (t === trigger ? color.magenta(esc(t)) : color.green(esc(t)))).join(color.dim(', '))
}

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
  const [, setResized] = useState(0)
  // What was drawn last, and the readline (for its line and cursor), to clear the prompt after a resize.
  const drawn = useRef<DrawnPrompt | undefined>(undefined)
  const line = useRef<{line: string; cursor: number} | undefined>(undefined)

  useEffect((rl) => {
    // A node:readline Interface: its `cursor` is where the cursor is in `line`.
    const reader = rl as typeof rl & {cursor: number}
    line.current = reader
    if (!config.onResize) return
    return config.onResize(() => {
      const last = drawn.current
      const columns = config.size?.().columns
      if (last && columns) {
        rl.output.unmute()
        rl.output.write(clearAfterResize(last, columns, promptCursor(reader.line, reader.cursor)))
        rl.output.mute()
      }
      setResized((n) => n + 1)
    })
  }, [])

  // After the first render: effects run once the screen has been written (@inquirer/core createPrompt).
  useEffect(() => {
    config.onShown?.(() => {
      const last = drawn.current
      return last ? last.height - 1 - last.below : 0
    })
  }, [])

  // The reference index loads after the first draw, then the captions (for `often`); the suggestions are recomputed
  // as each is in. Between the two, the redraw and the keys typed meanwhile go first.
  const [loaded, setLoaded] = useState(0)
  useEffect(() => {
    let live = true
    void (async () => {
      for (const load of [config.loadSuggestions, config.loadCaptions]) {
        // Nothing more is loaded once the prompt has ended.
        if (!load || !live) continue
        await load()
        if (!live) return
        setLoaded((n) => n + 1)
        await new Promise((resolve) => setImmediate(resolve))
      }
    })()
    return () => {
      live = false
    }
  }, [])

  const removing = input.startsWith('-')
  const predicted = config.predicted ?? []
  const canAccept = predicted.some((p) => p.accepted)
  const suggestions = useMemo<Row[]>(() => {
    if (removing) {
      const q = foldTag(input.slice(1))
      return tags
        .filter((t) => t !== config.trigger && foldTag(t).includes(q))
        .map((tag) => ({tag, count: 0, match: 'substring' as const}))
    }
    // The predictions first (those matching what is typed), then on an empty input the co-occurring tags, then
    // the vocabulary.
    const q = foldTag(input)
    const first: Row[] = predicted
      .filter((p) => findSameTag(tags, p.tag) === undefined && foldTag(p.tag).includes(q))
      .map((p) => ({tag: p.tag, count: 0, match: 'prefix', score: p.score, accepted: p.accepted}))
    if (input === '' && config.often)
      for (const o of config.often(tags))
        if (
          findSameTag(tags, o.tag) === undefined &&
          findSameTag(
            first.map((r) => r.tag),
            o.tag,
          ) === undefined
        )
          first.push({tag: o.tag, count: 0, match: 'prefix', often: o.p})
    if (first.length === 0) return config.suggest(input, new Set(tags))
    return [...first, ...config.suggest(input, new Set([...tags, ...first.map((r) => r.tag)]))]
  }, [input, tags, loaded])
  // The row Tab takes; undefined when the terminal has no room for suggestions (set below, before any key).
  let highlighted: Row | undefined = suggestions[Math.min(active, suggestions.length - 1)]

  const addTags = (list: string[]) => {
    const styled = list.map((t) => (config.style ? config.style(t) : normalizeTag(t))).filter((t) => t !== '')
    const refused = styled.map(tagControlProblem).find(Boolean)
    const allowed = styled.filter((t) => !tagControlProblem(t))
    // One spelling per tag, case ignored, the trigger word counted (core/caption.ts uniqueCaptionTags).
    const there = allowed.filter((t) => findSameTag(tags, t) !== undefined)
    const fresh = uniqueCaptionTags(allowed.filter((t) => findSameTag(tags, t) === undefined))
    if (fresh.length > 0) setTags([...tags, ...fresh])
    setNote(
      [
        fresh.length > 0 ? `added ${fresh.map((t) => esc(t)).join(', ')}` : '',
        ...there.map((t) => alreadyThere(t, findSameTag(tags, t) ?? t, config.trigger)),
        refused ? `refused: ${refused}` : '',
      ]
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
    if (key.ctrl && key.name === 'a' && canAccept) {
      // readline moved its cursor to the line's start: put it back at the end.
      rl.clearLine(0)
      rl.write(input)
      const take = predicted.filter((p) => p.accepted && findSameTag(tags, p.tag) === undefined)
      if (take.length > 0) addTags(take.map((p) => p.tag))
      else setNote('every predicted tag above the threshold is already there')
      return
    }
    if (key.ctrl && key.name === 's') {
      // A skip keeps the caption file as it is, and lora takes no tag with a control or bidi character in
      // (captionTagsProblem): such a caption is saved without that tag first.
      const problem = captionTagsProblem(config.tags)
      if (problem) {
        setNote(`cannot skip: the caption's ${problem}; remove that tag and save, or fix the caption by hand`)
        return
      }
      setStatus('skip')
      done({action: 'skip'})
      return
    }
    if (isEnterKey(key)) {
      // readline has already cleared its line; `input` holds what was typed.
      const typed = input.trim()
      if (typed === '' && !chosen) {
        // A tag with a control or bidi character (a caption written by hand) is never saved: lora would refuse the
        // whole edit (core/terminal-text.ts captionTagsProblem); the person removes it here instead.
        const problem = captionTagsProblem(tags)
        if (problem) {
          setNote(`cannot save: ${problem}; remove that tag first (⌫ removes the last tag, -tag⇥ one by name)`)
          return
        }
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

  if (status !== 'idle') {
    // askTags erases the prompt and prints collapsedLine; this is what shows until then.
    const answer: TagAnswer = status === 'save' ? {action: 'save', tags} : {action: status}
    return collapsedLine(config.message, answer, color, config.trigger)
  }

  const size = config.size?.() ?? {}
  const columns = size.columns && size.columns > 0 ? size.columns : 80
  // Every line is kept narrower than the terminal, and the prompt one row shorter than it.
  const width = Math.max(1, columns - 1)
  const budget = size.rows && size.rows > 0 ? Math.max(1, size.rows - 1) : Infinity

  const header = flow(
    config.message.split(' ').map((w) => ({text: w})),
    width,
    {prefix: {text: '? ', style: () => `${color.blue('?')} `}},
  )
  const promptLine = `› ${esc(input)}`
  const cursor = promptCursor(line.current?.line ?? input, line.current?.cursor ?? input.length)
  const inputLines = Math.floor(promptLine.length / columns) + 1
  const keys = keyHelp(columns, canAccept)
  const help = flow(
    keys.map(([k, what]) => ({text: `${k} ${what}`, style: (t) => keyStyle(t, k, color)})),
    width,
    {sep: {text: ' · ', style: color.dim}},
  )
  const noteLines = note ? flow([{text: note, style: color.dim}], width) : []

  // Rows: the header and the input line first; then one row of tags, the key help, the note, up to 3 suggestions,
  // the rest of the tags, the rest of the suggestions.
  let left = budget - Math.min(header.length, budget) - inputLines
  const take = (n: number) => {
    const k = Math.max(0, Math.min(n, left))
    left -= k
    return k
  }
  const headerLines = left < 0 ? header.slice(0, 1) : header
  if (left < 0) left = budget - 1 - inputLines
  const shown = Math.min(pageSize, suggestions.length)
  let tagRows = take(1)
  const helpRows = take(help.length)
  const noteRows = take(noteLines.length)
  let suggestionRows = take(Math.min(3, shown))
  const allTags = tagLines(tags, 0, width, color, config.trigger)
  tagRows += take(allTags.length - 1)
  suggestionRows += take(shown - suggestionRows)
  const tagsShown = tagRows === 0 ? [] : fitTags(tags, tagRows, width, color, config.trigger)
  // Tab and Enter never take a suggestion that is not shown.
  if (suggestionRows === 0) highlighted = undefined

  const start = Math.max(0, Math.min(active - suggestionRows + 1, suggestions.length - suggestionRows))
  const page = suggestions
    .slice(start, start + suggestionRows)
    .map((s, i) => suggestionRow(s, start + i === active ? (chosen ? '❯' : '⇥') : ' ', width, color))
  // The input line comes last, so that nothing is below the cursor: a terminal that re-wraps lines on a resize
  // then leaves the cursor where the prompt ends (xterm.js moves it down by the rows added below it).
  const above = [...headerLines, ...tagsShown, ...help.slice(0, helpRows), ...page, ...noteLines.slice(0, noteRows)]
  drawn.current = drawnPrompt(
    columns,
    above.map((l) => visibleWidth(l)),
    promptLine,
    cursor,
    0,
  )
  return [...above, `${color.cyan('›')} ${esc(input)}`].join('\n')
})

/** The cells before the cursor on the input line (`› ` and the text typed before the cursor). */
function promptCursor(typed: string, cursor: number): number {
  return 2 + cellWidth(esc(typed.slice(0, cursor)))
}

function keyStyle(text: string, key: string, color: ChalkInstance): string {
  return text.startsWith(key) ? color.bold(key) + color.dim(text.slice(key.length)) : color.dim(text)
}

function alreadyThere(typed: string, existing: string, trigger?: string): string {
  const what = existing === trigger ? `the trigger word ${esc(existing)}` : esc(existing)
  return typed === existing ? `${what} is already there` : `${esc(typed)}: ${what} is already there`
}

/**
 * The `tags:` lines, `skip` tags after the trigger word left out (shown as `…+N`), flowed at `width` cells.
 *
 * @returns the styled lines (at least one)
 */
export function tagLines(tags: readonly string[], skip: number, width: number, color: ChalkInstance, trigger?: string) {
  if (tags.length === 0) return flow([{text: '(no tags yet)', style: color.dim}], width, {prefix: tagsPrefix(color)})
  const first = tags[0] === trigger ? 1 : 0
  const kept = [...tags.slice(0, first), ...tags.slice(first + skip)]
  const items: Piece[] = kept.map((t, i) => ({
    text: esc(t) + (i < kept.length - 1 ? ',' : ''),
    style: (x: string) =>
      (t === trigger ? color.magenta(x.replace(/,$/u, '')) : color.green(x.replace(/,$/u, ''))) +
      (x.endsWith(',') && i < kept.length - 1 ? color.dim(',') : ''),
  }))
  if (skip > 0) items.splice(first, 0, {text: `…+${skip},`, style: color.dim})
  return flow(items, width, {prefix: tagsPrefix(color), indent: '  '})
}

function tagsPrefix(color: ChalkInstance): Piece {
  return {text: '  tags: ', style: (t) => `  ${color.dim('tags:')} ${t.slice(8)}`}
}

/**
 * The tags lines in at most `rows` rows: the earliest tags (after the trigger word) give way first, as few as will
 * do (`tagLines` with the smallest `skip` whose lines fit), the newest tag always kept; when even that one does not
 * fit, one line cut at the width. `layout` is `tagLines` (a test passes a wrapper that counts the calls).
 *
 * The smallest `skip` is found in O(log n) layouts, not by trying each in turn (quadratic: a caption of 8,000 tags
 * froze the prompt for a minute). The `…+N,` marker is as wide for every N of as many digits, and with it as wide,
 * leaving out one more tag never adds a line (a line holds what it held, or more); so the lines shrink as `skip`
 * grows within each run of skips of as many digits (1–9, 10–99, …), though not across runs (the marker widens by a
 * cell, and skip 1 adds it). The first run whose largest skip fits holds the answer: a binary search finds it there.
 */
export function fitTags(
  tags: readonly string[],
  rows: number,
  width: number,
  color: ChalkInstance,
  trigger?: string,
  layout: typeof tagLines = tagLines,
): string[] {
  const first = tags[0] === trigger ? 1 : 0
  const movable = tags.length - first
  const fitting = (skip: number) => {
    const lines = layout(tags, skip, width, color, trigger)
    return lines.length <= rows ? lines : undefined
  }
  const whole = fitting(0)
  if (whole) return whole
  // The newest tag stays in view: at most all the others give way.
  const most = movable - 1
  for (let low = 1; low <= most; low *= 10) {
    const high = Math.min(most, low * 10 - 1)
    let best = fitting(high)
    if (!best) continue
    // The smallest skip in low…high that fits: every skip from it to high fits, none below it.
    let [lo, hi] = [low, high]
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2)
      const lines = fitting(mid)
      if (lines) [hi, best] = [mid, lines]
      else lo = mid + 1
    }
    return best
  }
  // Even the newest tag does not fit: one line, cut at the width.
  const kept = [...tags.slice(0, first), ...(movable > 1 ? [`…+${movable - 1}`] : []), ...tags.slice(-1)]
  return [`  ${color.dim('tags:')} ${truncate(kept.map((t) => esc(t)).join(', '), Math.max(1, width - 8))}`]
}

/**
 * One suggestion row, at most `width` cells: the marker, the tag, its count (or a prediction's confidence,
 * `blue eyes 92%`, dim below the threshold), then its details when they fit (`often with 80%` for a co-occurring
 * tag).
 */
function suggestionRow(s: Row, marker: string, width: number, color: ChalkInstance): string {
  const count = s.score !== undefined ? ` ${Math.round(s.score * 100)}%` : s.count > 0 ? ` (${s.count})` : ''
  const plain = `${marker} ${esc(s.tag)}`
  const label = truncate(plain + count, width)
  const dimCount = s.score === undefined || !s.accepted
  const styled =
    marker !== ' ' ? color.cyan(label) : label === plain + count ? plain + (dimCount ? color.dim(count) : count) : label
  const details =
    s.often === undefined ? describe(s, color) : '  ' + color.dim(`often with ${Math.round(s.often * 100)}%`)
  return cellWidth(label) + visibleWidth(details) <= width ? styled + details : styled
}
