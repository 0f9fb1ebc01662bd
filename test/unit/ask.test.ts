/**
 * The simple questions of src/ui/prompts/ask.ts (confirm, select, checkbox over @inquirer/prompts), answered
 * in-process through a Terminal whose stdin and stdout are in-memory streams marked as TTYs (the real prompts,
 * nothing mocked; keys are written only after the question is on screen; one Terminal per question, as @inquirer
 * ends the output stream after each), and refused without a terminal.
 */
import {PassThrough} from 'node:stream'
import {stripVTControlCharacters} from 'node:util'
import {CancelledError, ExitCode, NeedsTerminalError} from '../../src/errors.js'
import {checkbox, confirm, select} from '../../src/ui/prompts/ask.js'
import {loadChalk, Terminal} from '../../src/ui/terminal.js'

const KEY = {enter: '\r', down: '\x1b[B', space: ' ', ctrlC: '\x03'} as const

/** A Terminal on in-memory streams; `tty: false` makes it one that cannot prompt (a pipe). */
function terminal(options: {tty?: boolean; env?: NodeJS.ProcessEnv} = {}) {
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  let output = ''
  stdout.on('data', (d) => (output += d))
  const tty = options.tty ?? true
  const term = new Terminal({
    stdin,
    stdout,
    stderr: new PassThrough(),
    env: options.env ?? {},
    stdinIsTTY: tty,
    stdoutIsTTY: tty,
    stderrIsTTY: false,
  })
  return {
    term,
    raw: () => output,
    screen: () => stripVTControlCharacters(output),
    /** Writes keys once the screen (after what was there before the last keys) matches `re`. */
    async keysAfter(re: RegExp, keys: string[]): Promise<void> {
      const deadline = Date.now() + 5000
      while (!re.test(stripVTControlCharacters(output))) {
        if (Date.now() > deadline)
          throw new Error(`the screen never matched ${re}:\n${stripVTControlCharacters(output)}`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      for (const key of keys) {
        stdin.write(key)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
  }
}

/** The error a promise rejects with (handled at once), or undefined when it resolves. */
function settled(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  )
}

// These Terminals are coloured (a TTY): chalk, which createTerminal loads for them, is loaded here.
beforeAll(() => loadChalk())

describe('ask: confirm', () => {
  it('Enter takes the default, no unless told otherwise; y and n answer', async () => {
    const t = terminal()
    const answer = confirm(t.term, {message: 'Replace files of the same name in ./train?'})
    await t.keysAfter(/Replace files of the same name in \.\/train\? \(y\/N\)/u, [KEY.enter])
    expect(await answer).toBe(false)
    // The answered question stays on screen.
    expect(t.screen()).toMatch(/✔ Replace files of the same name in \.\/train\? No/u)

    const t2 = terminal()
    const yes = confirm(t2.term, {message: 'Again?'})
    await t2.keysAfter(/Again\?/u, ['y', KEY.enter])
    expect(await yes).toBe(true)

    const t3 = terminal()
    const byDefault = confirm(t3.term, {message: 'Keep?', default: true})
    await t3.keysAfter(/Keep\? \(Y\/n\)/u, [KEY.enter])
    expect(await byDefault).toBe(true)
  })

  it('Ctrl-C is CancelledError (exit 130)', async () => {
    const t = terminal()
    const answer = settled(confirm(t.term, {message: 'Replace?'}))
    await t.keysAfter(/Replace\?/u, [KEY.ctrlC])
    const error = await answer
    expect(error).toBeInstanceOf(CancelledError)
    expect(error).toMatchObject({exitCode: ExitCode.cancelled})
  })
})

describe('ask: select and checkbox', () => {
  it('select returns the chosen value (arrow keys, Enter)', async () => {
    const t = terminal()
    const answer = select(t.term, {
      message: 'Which format?',
      choices: [{value: 'folder'}, {value: 'csv', name: 'CSV file'}, {value: 'jsonl'}],
    })
    await t.keysAfter(/Which format\?[\s\S]*CSV file/u, [KEY.down, KEY.enter])
    expect(await answer).toBe('csv')
    expect(t.screen()).toMatch(/✔ Which format\? CSV file/u)
  })

  it('checkbox returns the checked values in the order of the choices (Space toggles)', async () => {
    const t = terminal()
    const answer = checkbox(t.term, {
      message: 'Which images?',
      choices: [
        {value: 1, name: 'img_0001'},
        {value: 2, name: 'img_0002'},
        {value: 3, name: 'img_0003', checked: true},
      ],
    })
    await t.keysAfter(/Which images\?[\s\S]*img_0003/u, [KEY.space, KEY.enter])
    expect(await answer).toEqual([1, 3])
  })

  it('colours through the Terminal: none with NO_COLOR', async () => {
    const plain = terminal({env: {NO_COLOR: '1'}})
    const answer = select(plain.term, {message: 'Pick', choices: [{value: 'a'}, {value: 'b'}]})
    await plain.keysAfter(/Pick/u, [KEY.enter])
    expect(await answer).toBe('a')
    // Cursor movement is left; no colour or bold (SGR `ESC[...m`) sequence.
    expect(plain.raw()).not.toMatch(/\u001b\[[\d;]*m/u)

    const coloured = terminal({env: {}})
    const again = select(coloured.term, {message: 'Pick', choices: [{value: 'a'}, {value: 'b'}]})
    await coloured.keysAfter(/Pick/u, [KEY.enter])
    expect(await again).toBe('a')
    expect(coloured.raw()).toMatch(/\u001b\[[\d;]*m/u)
  })
})

describe('ask: without a terminal', () => {
  const questions = [
    ['confirm', (term: Terminal) => confirm(term, {message: 'Replace?', hint: 'Add --force.'})],
    ['select', (term: Terminal) => select(term, {message: 'Replace?', hint: 'Add --force.', choices: [{value: 'a'}]})],
    [
      'checkbox',
      (term: Terminal) => checkbox(term, {message: 'Replace?', hint: 'Add --force.', choices: [{value: 'a'}]}),
    ],
  ] as const

  it.each(questions)(
    '%s refuses with NeedsTerminalError (exit 2) naming the question and the hint, writing nothing',
    async (_name, ask) => {
      const t = terminal({tty: false})
      const error = await settled(ask(t.term))
      expect(error).toBeInstanceOf(NeedsTerminalError)
      expect(error).toMatchObject({exitCode: ExitCode.usage, hint: 'Add --force.'})
      expect((error as Error).message).toContain('"Replace?" needs an answer')
      expect(t.raw()).toBe('')
    },
  )

  it.each(questions)('%s refuses on a terminal when CI is set', async (_name, ask) => {
    const t = terminal({env: {CI: 'true'}})
    await expect(ask(t.term)).rejects.toBeInstanceOf(NeedsTerminalError)
    expect(t.raw()).toBe('')
  })
})
