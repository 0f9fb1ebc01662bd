/**
 * Fitting text to the terminal (src/ui/text-layout.ts): cell widths, flowing items at word boundaries, and the
 * sequence that clears a prompt after a resize. Pure functions; the pty tests (test/e2e/prompt-layout.test.ts) show
 * the result on a terminal emulator.
 */
import {stripVTControlCharacters} from 'node:util'
import {cellWidth, clearAfterResize, drawnPrompt, flow, truncate, wrapText} from '../../src/ui/text-layout.js'

const items = (...texts: string[]) => texts.map((text) => ({text}))

describe('cellWidth', () => {
  it('counts wide characters twice and combining marks not at all', () => {
    expect(cellWidth('abc')).toBe(3)
    expect(cellWidth('猫耳')).toBe(4)
    expect(cellWidth('e\u0301')).toBe(1)
    expect(cellWidth('⏎ ⇥ ↑↓ ⌫')).toBe(8)
  })

  it('gives every character below U+1100 (none is wide) 0 cells when it is a mark or zero-width, else 1', () => {
    const zero = /\p{Mn}|\p{Me}|\p{Cf}/u
    const wrong: string[] = []
    for (let code = 0; code < 0x1100; code++) {
      const char = String.fromCodePoint(code)
      const want = zero.test(char) ? 0 : 1
      if (cellWidth(char) !== want || cellWidth(`a${char}é`) !== want + 2) wrong.push(code.toString(16))
    }
    expect(wrong).toEqual([])
    // U+00AD SOFT HYPHEN: zero-width, though below the first combining mark.
    expect(cellWidth('co\u00adop')).toBe(4)
  })
})

describe('flow', () => {
  it('moves a whole item to the next line rather than cutting it', () => {
    expect(flow(items('⌫ remove last tag', '-tag⏎ remove tag'), 20, {sep: {text: ' · '}})).toEqual([
      '⌫ remove last tag',
      '-tag⏎ remove tag',
    ])
    expect(flow(items('a', 'b', 'c'), 20, {sep: {text: ' · '}})).toEqual(['a · b · c'])
  })

  it('breaks an item wider than a line at its spaces, and a word wider than a line anywhere', () => {
    expect(flow(items('remove last tag'), 8)).toEqual(['remove', 'last tag'])
    expect(flow(items('abcdefghij'), 4)).toEqual(['abcd', 'efgh', 'ij'])
  })

  it('starts with the prefix and indents the lines after it', () => {
    expect(flow(items('a,', 'bb,', 'cc'), 10, {prefix: {text: 'tags: '}, indent: '  '})).toEqual([
      'tags: a,',
      '  bb, cc',
    ])
  })

  it('measures coloured text by what shows', () => {
    const red = (t: string) => `\u001B[31m${t}\u001B[39m`
    const lines = flow(
      items('one', 'two').map((p) => ({...p, style: red})),
      7,
    )
    expect(lines.map((l) => stripVTControlCharacters(l))).toEqual(['one two'])
  })
})

describe('wrapText and truncate', () => {
  it('leave text that fits, and wrap or cut what does not', () => {
    expect(wrapText('Saved img_0001: +sky', 40)).toBe('Saved img_0001: +sky')
    expect(wrapText('Saved img_0001: +sky', undefined)).toBe('Saved img_0001: +sky')
    expect(wrapText('This run: 1 saved, 0 skipped. Now 1/3 tagged', 20)).toBe(
      'This run: 1 saved, 0\n  skipped. Now 1/3\n  tagged',
    )
    expect(truncate('a very long tag', 8)).toBe('a very …')
    expect(truncate('short', 8)).toBe('short')
  })
})

describe('clearAfterResize', () => {
  it('goes up as many rows as the terminal re-wrapped the lines above the cursor into, then erases down', () => {
    // Drawn at 80 columns: a 19-cell message, a 17-cell tags line, a 61-cell help line; the cursor 3 cells into the
    // input line, the last line.
    const drawn = drawnPrompt(80, [19, 17, 61], '› c', 3, 0)
    expect(drawn).toEqual({columns: 80, above: [19, 17, 61], height: 4, below: 0})
    // At 40 columns the help line takes 2 rows: 4 rows up; then 3 new lines back to where ScreenManager expects the
    // cursor, so its next render erases exactly the 4 lines it believes it drew.
    expect(clearAfterResize(drawn, 40, 3)).toBe('\r\u001B[4A\u001B[J\n\n\n')
    // Wider: nothing was re-wrapped.
    expect(clearAfterResize(drawn, 100, 3)).toBe('\r\u001B[3A\u001B[J\n\n\n')
  })

  it('counts an input line ScreenManager broke into several lines', () => {
    const typed = '› ' + 'x'.repeat(90)
    const drawn = drawnPrompt(80, [19], typed, 92, 0)
    expect(drawn.height).toBe(3)
    expect(clearAfterResize(drawn, 80, 92)).toBe('\r\u001B[2A\u001B[J\n\n')
  })
})
