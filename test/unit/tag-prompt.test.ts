/**
 * The tag prompt of `lora next` / `lora resume`, driven key by key with @inquirer/testing (a real prompt on an
 * in-memory terminal; nothing mocked). The keys are the ones documented at the top of src/ui/prompts/tag-prompt.ts.
 */
import {render} from '@inquirer/testing'
import {Chalk} from 'chalk'
import {
  collapsedLine,
  ACCEPT_KEY,
  fitTags,
  tagLines,
  TAG_PROMPT_KEYS,
  TAG_PROMPT_KEYS_SHORT,
  tagPrompt,
  type TagPromptConfig,
} from '../../src/ui/prompts/tag-prompt.js'
import {cellWidth, truncate} from '../../src/ui/text-layout.js'
import {escapeControls} from '../../src/core/terminal-text.js'
import {suggestTags} from '../../src/core/vocabulary.js'

/** A small vocabulary with usage counts chosen so that "most used first" differs from alphabetical order. */
const USAGE = new Map<string, number>([
  ['long hair', 3],
  ['long_sleeves', 9],
  ['short hair', 7],
  ['hair ribbon', 2],
  ['smile', 5],
  ['blue eyes', 4],
])
const WORDS = [...USAGE.keys()]

function config(overrides: Partial<TagPromptConfig> = {}): TagPromptConfig {
  return {
    message: 'Tags for img_0001',
    tags: [],
    suggest: (input, exclude) => suggestTags(WORDS, USAGE, input, exclude),
    color: new Chalk({level: 0}),
    ...overrides,
  }
}

/** The suggestion lines on screen (the lines after the input line that name a vocabulary tag), in order. */
function suggestionLines(screen: string): string[] {
  return screen
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => WORDS.some((w) => l.replace(/^[❯⇥]\s*/u, '').startsWith(w + ' (')))
}

/** The `tags:` line's content. */
function tagsLine(screen: string): string {
  const line = screen.split('\n').find((l) => l.trim().startsWith('tags:'))
  if (line === undefined) throw new Error(`no tags line on screen:\n${screen}`)
  return line.trim().slice('tags:'.length).trim()
}

/** The input line's content (after `›`). */
function inputLine(screen: string): string {
  const line = screen.split('\n').find((l) => l.startsWith('›'))
  if (line === undefined) throw new Error(`no input line on screen:\n${screen}`)
  return line.slice(1).trim()
}

describe('tag prompt: predicted and co-occurring tags', () => {
  const predicted = [
    {tag: 'blue eyes', score: 0.92, category: 'general' as const, accepted: true},
    {tag: 'ribbon', score: 0.61, category: 'general' as const, accepted: true},
    {tag: 'hat', score: 0.25, category: 'general' as const, accepted: false},
  ]
  const rows = (screen: string) => screen.split('\n').filter((l) => /^[ ⇥❯] /u.test(l) && !l.includes('tags:'))

  it('offers the predictions first with their confidence, and shows the accept-all key', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config({tags: ['smile'], predicted}))
    const screen = getScreen()
    expect(rows(screen).slice(0, 3)).toEqual(['⇥ blue eyes 92%', '  ribbon 61%', '  hat 25%'])
    // The vocabulary follows, without the predicted tags again.
    expect(rows(screen)[3]).toBe('  long_sleeves (9)')
    expect(screen.match(/blue eyes/gu)).toHaveLength(1)
    expect(screen.replace(/\s+/gu, ' ')).toContain(`${ACCEPT_KEY[0]} ${ACCEPT_KEY[1]}`)
    // Typing filters them too, predictions still first.
    events.type('r')
    expect(rows(getScreen())[0]).toBe('⇥ ribbon 61%')
    events.keypress('escape')
    await expect(answer).resolves.toEqual({action: 'quit'})
  })

  it('ctrl-a adds every predicted tag at or above the threshold, once', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config({tags: ['ohwx'], trigger: 'ohwx', predicted}))
    events.keypress({name: 'a', ctrl: true})
    expect(tagsLine(getScreen())).toBe('ohwx, blue eyes, ribbon')
    expect(rows(getScreen())[0]).toBe('⇥ hat 25%')
    events.keypress({name: 'a', ctrl: true})
    expect(getScreen()).toContain('every predicted tag above the threshold is already there')
    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['ohwx', 'blue eyes', 'ribbon']})
  })

  it('without predictions above the threshold there is no accept-all key', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config({predicted: [predicted[2]]}))
    expect(getScreen()).not.toContain(ACCEPT_KEY[0])
    events.keypress({name: 'a', ctrl: true})
    expect(tagsLine(getScreen())).toBe('(no tags yet)')
    events.keypress('escape')
    await expect(answer).resolves.toEqual({action: 'quit'})
  })

  it('on an empty input offers the tags that often go with the current ones, labelled, after the predictions', async () => {
    const often = (tags: readonly string[]) =>
      tags.includes('smile') ? [{tag: 'short hair', p: 0.8, together: 4}] : [{tag: 'smile', p: 0.5, together: 2}]
    const {answer, events, getScreen} = await render(tagPrompt, config({tags: ['smile'], often, predicted}))
    expect(rows(getScreen()).slice(0, 4)).toEqual([
      '⇥ blue eyes 92%',
      '  ribbon 61%',
      '  hat 25%',
      '  short hair  often with 80%',
    ])
    // Typing hides them (the vocabulary matches take over).
    events.type('sh')
    expect(getScreen()).not.toContain('often with')
    events.keypress('escape')
    await expect(answer).resolves.toEqual({action: 'quit'})
  })

  it('reads the captions for them (loadCaptions) once the index is in, and offers them then', async () => {
    const calls: string[] = []
    let indexIn!: () => void
    let captionsIn = false
    const often = () => (captionsIn ? [{tag: 'short hair', p: 0.8, together: 4}] : [])
    const {answer, events, getScreen} = await render(
      tagPrompt,
      config({
        tags: ['smile'],
        often,
        loadSuggestions: () => {
          calls.push('index')
          return new Promise<void>((resolve) => (indexIn = resolve))
        },
        loadCaptions: async () => {
          calls.push('captions')
          captionsIn = true
        },
      }),
    )
    expect(calls).toEqual(['index'])
    expect(getScreen()).not.toContain('often with')
    indexIn()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(calls).toEqual(['index', 'captions'])
    expect(rows(getScreen())[0]).toBe('⇥ short hair  often with 80%')
    events.keypress('escape')
    await expect(answer).resolves.toEqual({action: 'quit'})
  })

  it('does not read the captions when the prompt ends as the index comes in (before its redraw is done)', async () => {
    const calls: string[] = []
    let indexIn!: () => void
    const {answer, events} = await render(
      tagPrompt,
      config({
        tags: ['smile'],
        often: () => [],
        loadSuggestions: () => {
          calls.push('index')
          return new Promise<void>((resolve) => (indexIn = resolve))
        },
        loadCaptions: async () => {
          calls.push('captions')
        },
      }),
    )
    // The index comes in and is drawn; Esc arrives before the prompt's next turn of the event loop.
    indexIn()
    for (let i = 0; i < 10; i++) await Promise.resolve()
    events.keypress('escape')
    await expect(answer).resolves.toEqual({action: 'quit'})
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(calls).toEqual(['index'])
  })
})

describe('tag prompt', () => {
  it('shows the message, the current tags and the help line with every documented key', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config({tags: ['ohwx', 'smile'], trigger: 'ohwx'}))
    const screen = getScreen()
    expect(screen.split('\n')[0]).toBe('? Tags for img_0001')
    expect(tagsLine(screen)).toBe('ohwx, smile')
    const flat = screen.replace(/\s+/gu, ' ')
    for (const [key, what] of TAG_PROMPT_KEYS) expect(flat).toContain(`${key} ${what}`)
    expect(flat).toContain('⏎ add tag / save when empty')
    expect(flat).toContain('ctrl-s skip image')
    expect(flat).toContain('esc quit')
    events.keypress('escape')
    await expect(answer).resolves.toEqual({action: 'quit'})
  })

  it('shows "(no tags yet)" for an image without tags', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config())
    expect(tagsLine(getScreen())).toBe('(no tags yet)')
    events.keypress('escape')
    await expect(answer).resolves.toEqual({action: 'quit'})
  })

  it('filters suggestions as you type, most used first, and leaves out tags already on the image', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config())
    // An empty line lists the most used tags.
    expect(suggestionLines(getScreen())).toEqual([
      '⇥ long_sleeves (9)',
      'short hair (7)',
      'smile (5)',
      'blue eyes (4)',
      'long hair (3)',
      'hair ribbon (2)',
    ])

    events.type('long')
    let screen = getScreen()
    expect(inputLine(screen)).toBe('long')
    // long_sleeves (9) comes before long hair (3) although it sorts after it alphabetically.
    expect(suggestionLines(screen)).toEqual(['⇥ long_sleeves (9)', 'long hair (3)'])
    expect(screen).not.toContain('smile')
    expect(screen).not.toContain('short hair')

    events.keypress('backspace')
    events.keypress('backspace')
    events.keypress('backspace')
    events.keypress('backspace')
    events.type('hair')
    screen = getScreen()
    expect(inputLine(screen)).toBe('hair')
    // Prefix matches first, then word matches by usage.
    expect(suggestionLines(screen)).toEqual(['⇥ hair ribbon (2)', 'short hair (7)', 'long hair (3)'])
    events.keypress('escape')
    await expect(answer).resolves.toEqual({action: 'quit'})
  })

  it('treats _ and space alike and ignores case when filtering', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config())
    events.type('LONG S')
    expect(suggestionLines(getScreen())).toEqual(['⇥ long_sleeves (9)'])
    events.keypress('escape')
    await expect(answer).resolves.toEqual({action: 'quit'})
  })

  it('does not suggest a tag the image already has', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config({tags: ['long_sleeves']}))
    events.type('long')
    expect(suggestionLines(getScreen())).toEqual(['⇥ long hair (3)'])
    events.keypress('escape')
    await expect(answer).resolves.toEqual({action: 'quit'})
  })

  it('Tab accepts the highlighted (first) suggestion and clears the input', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config())
    events.type('long')
    events.keypress('tab')
    const screen = getScreen()
    expect(tagsLine(screen)).toBe('long_sleeves')
    expect(inputLine(screen)).toBe('')
    expect(screen).toContain('added long_sleeves')
    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['long_sleeves']})
  })

  it('↓ then Enter adds the chosen suggestion (first ↓ picks the first, the next ↓ moves down)', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config())
    events.type('long')
    events.keypress('down')
    let screen = getScreen()
    expect(suggestionLines(screen)).toEqual(['❯ long_sleeves (9)', 'long hair (3)'])
    expect(inputLine(screen)).toBe('long')
    events.keypress('down')
    screen = getScreen()
    expect(suggestionLines(screen)).toEqual(['long_sleeves (9)', '❯ long hair (3)'])
    events.keypress('enter')
    screen = getScreen()
    expect(tagsLine(screen)).toBe('long hair')
    expect(inputLine(screen)).toBe('')
    expect(screen).toContain('added long hair')

    // ↓ on an empty line chooses among the most used tags; a single ↓ picks the first one.
    events.keypress('down')
    expect(suggestionLines(getScreen())[0]).toBe('❯ long_sleeves (9)')
    events.keypress('enter')
    expect(tagsLine(getScreen())).toBe('long hair, long_sleeves')

    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['long hair', 'long_sleeves']})
  })

  it('→ only moves the cursor; it never adds a suggestion', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config())
    events.type('long')
    events.keypress('left')
    events.keypress('right')
    events.keypress('right')
    const screen = getScreen()
    expect(tagsLine(screen)).toBe('(no tags yet)')
    expect(inputLine(screen)).toBe('long')
    expect(suggestionLines(screen)).toEqual(['⇥ long_sleeves (9)', 'long hair (3)'])
    events.keypress('escape')
    await expect(answer).resolves.toEqual({action: 'quit'})
  })

  it('Tab with no suggestion changes nothing', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config())
    events.type('zzz')
    events.keypress('tab')
    expect(inputLine(getScreen())).toBe('zzz')
    expect(tagsLine(getScreen())).toBe('(no tags yet)')
    events.keypress('enter')
    expect(tagsLine(getScreen())).toBe('zzz')
    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['zzz']})
  })

  it('↑ moves the choice back up (and readline history does not replace the typed text)', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config())
    // A line entered before is in readline's history, which ↑ would recall.
    events.type('earlier')
    events.keypress('enter')
    events.type('hair')
    events.keypress('down')
    events.keypress('down')
    events.keypress('down')
    expect(suggestionLines(getScreen())).toEqual(['hair ribbon (2)', 'short hair (7)', '❯ long hair (3)'])
    events.keypress('up')
    expect(suggestionLines(getScreen())).toEqual(['hair ribbon (2)', '❯ short hair (7)', 'long hair (3)'])
    expect(inputLine(getScreen())).toBe('hair')
    events.keypress('enter')
    expect(tagsLine(getScreen())).toBe('earlier, short hair')
    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['earlier', 'short hair']})
  })

  it('Enter on typed text adds it as a new tag; "a, b" adds two; Enter on an empty line saves in order', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config({tags: ['smile']}))
    events.type('red  eyes ')
    events.keypress('enter')
    let screen = getScreen()
    expect(tagsLine(screen)).toBe('smile, red eyes')
    expect(inputLine(screen)).toBe('')
    expect(screen).toContain('added red eyes')

    events.type('a, b')
    events.keypress('enter')
    screen = getScreen()
    expect(tagsLine(screen)).toBe('smile, red eyes, a, b')
    expect(screen).toContain('added a, b')

    // A repeated tag is not added twice.
    events.type('a')
    events.keypress('enter')
    expect(tagsLine(getScreen())).toBe('smile, red eyes, a, b')

    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['smile', 'red eyes', 'a', 'b']})
    expect(getScreen()).toContain('✔ Tags for img_0001')
  })

  it('Enter on an empty line right away saves the tags unchanged', async () => {
    const {answer, events} = await render(tagPrompt, config({tags: ['ohwx', 'smile'], trigger: 'ohwx'}))
    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['ohwx', 'smile']})
  })

  it('Enter on typed text that matches a suggestion adds the typed text, not the suggestion', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config())
    events.type('long')
    events.keypress('enter')
    expect(tagsLine(getScreen())).toBe('long')
    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['long']})
  })

  it('Backspace on an empty line removes the last tag, but never the trigger word', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config({tags: ['ohwx', 'a', 'b'], trigger: 'ohwx'}))
    events.keypress('backspace')
    let screen = getScreen()
    expect(tagsLine(screen)).toBe('ohwx, a')
    expect(screen).toContain('removed b')
    events.keypress('backspace')
    expect(tagsLine(getScreen())).toBe('ohwx')
    events.keypress('backspace')
    events.keypress('backspace')
    screen = getScreen()
    expect(tagsLine(screen)).toBe('ohwx')
    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['ohwx']})
  })

  it('Backspace while typing edits the text and removes no tag', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config({tags: ['a', 'b']}))
    events.type('xy')
    events.keypress('backspace')
    expect(inputLine(getScreen())).toBe('x')
    expect(tagsLine(getScreen())).toBe('a, b')
    // Deleting the last typed character empties the line but still removes no tag.
    events.keypress('backspace')
    expect(inputLine(getScreen())).toBe('')
    expect(tagsLine(getScreen())).toBe('a, b')
    // Now the line is empty: the next Backspace removes the last tag.
    events.keypress('backspace')
    expect(tagsLine(getScreen())).toBe('a')
    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['a']})
  })

  it('"-tag" Enter removes that tag; the trigger word stays; an unknown tag is reported', async () => {
    const {answer, events, getScreen} = await render(
      tagPrompt,
      config({tags: ['ohwx', 'red hair', 'smile', 'hat'], trigger: 'ohwx'}),
    )
    events.type('-smile')
    events.keypress('enter')
    let screen = getScreen()
    expect(tagsLine(screen)).toBe('ohwx, red hair, hat')
    expect(screen).toContain('removed smile')
    expect(inputLine(screen)).toBe('')

    // Matching ignores case.
    events.type('-Red Hair')
    events.keypress('enter')
    screen = getScreen()
    expect(tagsLine(screen)).toBe('ohwx, hat')
    expect(screen).toContain('removed red hair')

    events.type('-ohwx')
    events.keypress('enter')
    screen = getScreen()
    expect(tagsLine(screen)).toBe('ohwx, hat')
    expect(screen).toContain('the trigger word ohwx stays')

    events.type('-nope')
    events.keypress('enter')
    screen = getScreen()
    expect(tagsLine(screen)).toBe('ohwx, hat')
    expect(screen).toContain('no tag nope on this image')

    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['ohwx', 'hat']})
  })

  it('"-" lists the image\'s tags (not the trigger) and Tab removes the highlighted one', async () => {
    const {answer, events, getScreen} = await render(
      tagPrompt,
      config({tags: ['ohwx', 'red hair', 'smile'], trigger: 'ohwx'}),
    )
    events.type('-sm')
    const screen = getScreen()
    expect(screen).toMatch(/^⇥ smile$/mu)
    expect(screen).not.toMatch(/^\s+ohwx$/mu)
    events.keypress('tab')
    expect(tagsLine(getScreen())).toBe('ohwx, red hair')
    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['ohwx', 'red hair']})
  })

  it('Ctrl-S skips the image', async () => {
    const {answer, events} = await render(tagPrompt, config({tags: ['smile']}))
    events.type('typed but not added')
    events.keypress({name: 's', ctrl: true})
    await expect(answer).resolves.toEqual({action: 'skip'})
  })

  it('Escape quits, discarding added tags', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config({tags: ['smile']}))
    events.type('new tag')
    events.keypress('enter')
    expect(tagsLine(getScreen())).toBe('smile, new tag')
    events.keypress('escape')
    await expect(answer).resolves.toEqual({action: 'quit'})
  })

  it('keys after the answer are ignored', async () => {
    const {answer, events} = await render(tagPrompt, config({tags: ['a']}))
    events.keypress('enter')
    events.keypress('backspace')
    events.keypress('escape')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['a']})
  })
})

describe('the final line says what happened', () => {
  it('shows saved tags, skipped, or not saved', async () => {
    const saved = await render(tagPrompt, config())
    saved.events.type('cat')
    saved.events.keypress('enter')
    saved.events.keypress('enter')
    await saved.answer
    expect(saved.getScreen()).toMatch(/✔ .*: cat/)

    const skipped = await render(tagPrompt, config())
    skipped.events.keypress({name: 's', ctrl: true})
    await skipped.answer
    expect(skipped.getScreen()).toMatch(/↷ .*: skipped/)

    const quit = await render(tagPrompt, config())
    quit.events.keypress('escape')
    await quit.answer
    expect(quit.getScreen()).toMatch(/✖ .*: not saved/)
  })
})

describe('the row Tab takes is marked', () => {
  it('with ⇥ from the first keystroke (and before it); ↓ turns the mark into ❯ (Enter takes it too)', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config())
    expect(suggestionLines(getScreen())[0]).toBe('⇥ long_sleeves (9)')
    events.type('s')
    const marked = suggestionLines(getScreen()).filter((l) => /^[⇥❯]/u.test(l))
    expect(marked).toEqual(['⇥ short hair (7)'])
    events.keypress('tab')
    expect(tagsLine(getScreen())).toBe('short hair')
    events.type('long')
    events.keypress('down')
    events.keypress('down')
    expect(suggestionLines(getScreen())).toEqual(['long_sleeves (9)', '❯ long hair (3)'])
    events.keypress('tab')
    expect(tagsLine(getScreen())).toBe('short hair, long hair')
    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['short hair', 'long hair']})
  })
})

describe('a tag already there', () => {
  it('in another case, or the trigger word, is not added again: a note says it is there', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, config({tags: ['ohwx', 'sky'], trigger: 'ohwx'}))
    events.type('SKY')
    events.keypress('enter')
    expect(tagsLine(getScreen())).toBe('ohwx, sky')
    expect(getScreen()).toContain('SKY: sky is already there')
    events.type('sky')
    events.keypress('enter')
    expect(getScreen()).toContain('sky is already there')
    events.type('OHWX')
    events.keypress('enter')
    expect(tagsLine(getScreen())).toBe('ohwx, sky')
    expect(getScreen()).toContain('OHWX: the trigger word ohwx is already there')
    events.type('cloud, Cloud, sky')
    events.keypress('enter')
    expect(tagsLine(getScreen())).toBe('ohwx, sky, cloud')
    expect(getScreen()).toContain('added cloud; sky is already there')
    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['ohwx', 'sky', 'cloud']})
  })
})

describe('the prompt fits the terminal', () => {
  const many = Array.from({length: 30}, (_, i) => `tag number ${i + 1}`)
  const sized = (columns: number, rows: number) =>
    config({
      tags: ['ohwx', ...many.slice(0, 12)],
      trigger: 'ohwx',
      size: () => ({columns, rows}),
      suggest: (input, exclude) => suggestTags(many, new Map(many.map((t, i) => [t, 100 - i])), input, exclude),
    })

  it.each([
    [80, 24],
    [60, 15],
    [40, 12],
    [30, 8],
  ])('at %i×%i: never taller or wider than the terminal, the key help whole words', async (columns, rows) => {
    const {answer, events, getScreen} = await render(tagPrompt, sized(columns, rows))
    for (const screen of [getScreen(), (events.type('tag'), getScreen())]) {
      const lines = screen.split('\n')
      expect(lines.length).toBeLessThan(rows)
      for (const line of lines) expect(cellWidth(line)).toBeLessThan(columns)
      // The input line comes last; the message first; one row of tags at least, ending with the newest tag.
      expect(lines[0]).toBe('? Tags for img_0001')
      expect(lines.at(-1)).toMatch(/^›/u)
      // (At 30 columns the newest tag is cut to fit.)
      expect(screen).toContain(columns >= 40 ? 'tag number 12' : 'tags: ohwx, …+11, tag numb')
      // Each key's help is on one line, never cut inside a word.
      const keys = columns < 80 ? TAG_PROMPT_KEYS_SHORT : TAG_PROMPT_KEYS
      const helpLines = lines.filter((l) => l.includes('esc quit') || l.includes(keys[0][1]))
      if (rows >= 12) for (const [k, what] of keys) expect(screen).toContain(`${k} ${what}`)
      expect(helpLines.length).toBeGreaterThan(0)
    }
    // Suggestion rows shrink to what is left, down to none.
    const shown = suggestionLinesOf(getScreen())
    if (rows >= 24) expect(shown).toHaveLength(7)
    else expect(shown.length).toBeLessThan(7)
    events.keypress('escape')
    await answer
  })

  it('Tab takes no suggestion when the terminal has no room to show one', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, sized(30, 8))
    events.type('tag')
    expect(suggestionLinesOf(getScreen())).toEqual([])
    events.keypress('tab')
    // (The note has no room either: what is saved shows it.) Backspace empties the line, Enter saves.
    for (let i = 0; i < 3; i++) events.keypress('backspace')
    events.keypress('enter')
    await expect(answer).resolves.toEqual({action: 'save', tags: ['ohwx', ...many.slice(0, 12)]})
  })

  it('uses the short key help under 80 columns, flowed at word boundaries', async () => {
    const {answer, events, getScreen} = await render(tagPrompt, sized(40, 40))
    const help = getScreen()
      .split('\n')
      .filter((l) => /esc quit|add\/save|drop last/u.test(l))
    expect(help.join(' · ')).toBe('⏎ add/save · ⇥ accept · ↑↓ choose · ⌫ drop last · -tag⏎ remove · ^S skip · esc quit')
    for (const line of help) expect(line).not.toMatch(/·\s*$|^\s*·/u)
    events.keypress('escape')
    await answer
  })
})

describe('fitTags: the tags in the rows left', () => {
  const plain = new Chalk({level: 0})
  const styled = new Chalk({level: 1})

  /** The linear scan fitTags replaced (each skip in turn, the first that fits): the oracle of its answer. */
  function linearFit(tags: string[], rows: number, width: number, color: typeof plain, trigger?: string): string[] {
    const first = tags[0] === trigger ? 1 : 0
    const movable = tags.length - first
    for (let skip = 0; skip < Math.max(1, movable); skip++) {
      const lines = tagLines(tags, skip, width, color, trigger)
      if (lines.length <= rows) return lines
    }
    const kept = [...tags.slice(0, first), ...(movable > 1 ? [`…+${movable - 1}`] : []), ...tags.slice(-1)]
    return [
      `  ${color.dim('tags:')} ${truncate(kept.map((t) => escapeControls(t)).join(', '), Math.max(1, width - 8))}`,
    ]
  }

  /** A small seeded generator (mulberry32), so that a failure can be replayed. */
  function random(seed: number): () => number {
    let a = seed
    return () => {
      a = (a + 0x6d2b79f5) | 0
      let t = Math.imul(a ^ (a >>> 15), 1 | a)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
  }

  /** Tags of 1–14 characters (or of 1–2, `short`), some with spaces, some wide (CJK), a few wider than a line. */
  function randomTags(next: () => number, n: number, short: boolean): string[] {
    const pick = (s: string) => s[Math.floor(next() * s.length)]
    return Array.from({length: n}, () => {
      const long = next() < 0.05
      const length = long ? 10 + Math.floor(next() * 40) : 1 + Math.floor(next() * (short ? 2 : 14))
      const chars = next() < 0.1 ? 'あいう漢字 ' : 'abcdefghij  '
      let tag = ''
      for (let i = 0; i < length; i++) tag += pick(chars)
      return tag.trim() === '' ? 'x' : tag.trim()
    })
  }

  it('leaves out as few of the earliest tags as the old linear scan did, on random tags, widths and rows', () => {
    const next = random(0x74920a4c)
    let marked = 0
    const trials = 1200
    for (let trial = 0; trial < trials; trial++) {
      // Up to 130 tags: skips of one, two and three digits (the `…+N,` marker widens at 10 and at 100).
      const n = next() < 0.3 ? Math.floor(next() * 12) : Math.floor(next() * 130)
      const trigger = next() < 0.5 ? 'ohwx' : undefined
      const tags = [...(trigger ? [trigger] : []), ...randomTags(next, n, next() < 0.4)]
      const width = 1 + Math.floor(next() * (next() < 0.3 ? 16 : 50))
      const color = next() < 0.2 ? styled : plain
      // Half the time as many rows as some skip takes, most often one next to where the marker widens (1, 9, 10,
      // 99, 100): where the lines are fewest before it widens, and grow again after.
      const near = [0, 1, 2, 8, 9, 10, 11, 98, 99, 100, 101][Math.floor(next() * 11)]
      const skip = next() < 0.7 ? near : Math.floor(next() * n)
      const rows = next() < 0.5 ? tagLines(tags, skip, width, color, trigger).length : 1 + Math.floor(next() * 8)
      const expected = linearFit(tags, rows, width, color, trigger)
      expect({tags, width, rows, lines: fitTags(tags, rows, width, color, trigger)}).toEqual({
        tags,
        width,
        rows,
        lines: expected,
      })
      if (expected.join('\n').includes('…+')) marked++
    }
    // Most cases leave tags out (the "+N more" marker), not just the ones that fit whole.
    expect(marked).toBeGreaterThan(trials / 2)
  })

  it('finds the fewest left out where one more widens the marker (…+9 to …+10, …+99 to …+100) and adds a line', () => {
    // The lines grow as `skip` goes from 9 to 10 when the wider marker moves to the next line: with exactly as many
    // rows as skip 9 takes, the answer is 9 or less though skips from 10 on do not fit (a search that took the lines
    // to shrink with every skip would miss it).
    const next = random(0x5eed)
    const found = new Map<number, number>()
    for (let trial = 0; trial < 5000 && (found.get(10) ?? 0) + (found.get(100) ?? 0) < 100; trial++) {
      const n = 12 + Math.floor(next() * 240)
      const trigger = next() < 0.5 ? 'ohwx' : undefined
      const tags = [...(trigger ? [trigger] : []), ...randomTags(next, n, next() < 0.7)]
      const at = n > 101 && next() < 0.5 ? 100 : 10
      // Most often just wide enough for `…+9,` (or `…+99,`) after `  tags: ` and the trigger word, not for `…+10,`.
      const width = next() < 0.7 ? 8 + (trigger ? 6 : 0) + String(at - 1).length + 3 : 3 + Math.floor(next() * 40)
      const before = tagLines(tags, at - 1, width, plain, trigger).length
      if (tagLines(tags, at, width, plain, trigger).length <= before) continue
      found.set(at, (found.get(at) ?? 0) + 1)
      const lines = fitTags(tags, before, width, plain, trigger)
      expect({tags, width, lines}).toEqual({tags, width, lines: linearFit(tags, before, width, plain, trigger)})
    }
    expect(found.get(10)).toBeGreaterThan(20)
    expect(found.get(100)).toBeGreaterThan(20)
  })

  it('lays out 8,000 tags in a few dozen layouts, not one per tag left out', () => {
    const tags = ['ohwx', ...Array.from({length: 8000}, (_, i) => `t${i}`)]
    let layouts = 0
    const counted: typeof tagLines = (...args) => (layouts++, tagLines(...args))
    const lines = fitTags(tags, 28, 99, plain, 'ohwx', counted)
    expect(lines.length).toBeLessThanOrEqual(28)
    expect(lines[0]).toMatch(/^ {2}tags: ohwx, …\+\d+, /u)
    expect(lines.at(-1)).toMatch(/, t7999$/u)
    // The fewest left out: one fewer does not fit.
    const skip = Number(/…\+(\d+),/u.exec(lines[0])?.[1])
    expect(tagLines(tags, skip, 99, plain, 'ohwx')).toEqual(lines)
    expect(tagLines(tags, skip - 1, 99, plain, 'ohwx').length).toBeGreaterThan(28)
    // A binary search in each run of skips of as many digits: 1 + 4 runs + log2(7000) ≈ 18 layouts (the linear scan
    // made 7,600).
    expect(layouts).toBeLessThanOrEqual(20)
  })
})

describe('collapsedLine', () => {
  it('is the same for Esc and Ctrl-C', () => {
    const color = new Chalk({level: 0})
    expect(collapsedLine('Tags for img_0001', {action: 'quit'}, color)).toBe('✖ Tags for img_0001: not saved')
    expect(collapsedLine('Tags for img_0001', {action: 'cancel'}, color)).toBe('✖ Tags for img_0001: not saved')
    expect(collapsedLine('Tags for img_0001', {action: 'save', tags: ['a', 'b']}, color)).toBe(
      '✔ Tags for img_0001: a, b',
    )
  })
})

/** Suggestion rows of the layout tests (their tags are `tag number N`). */
function suggestionLinesOf(screen: string): string[] {
  return screen.split('\n').filter((l) => /^[ ⇥❯] tag number \d+ \(\d+\)/u.test(l))
}
