import {PassThrough} from 'node:stream'
import {backgroundColorNames, Chalk, foregroundColorNames, modifierNames} from 'chalk'
import {createTerminal, plainColor, Terminal} from '../../src/ui/terminal.js'

function streams() {
  const out = new PassThrough()
  const err = new PassThrough()
  let stdout = ''
  let stderr = ''
  out.on('data', (d) => (stdout += d))
  err.on('data', (d) => (stderr += d))
  return {out, err, text: () => ({stdout, stderr})}
}

describe('Terminal', () => {
  it('writes data to stdout and messages to stderr', () => {
    const s = streams()
    const term = new Terminal({stdout: s.out, stderr: s.err, env: {}})
    term.out('data')
    term.info('message')
    term.warn('careful')
    expect(s.text().stdout).toBe('data\n')
    expect(s.text().stderr).toBe('message\nwarning: careful\n')
  })

  it('prompts only when stdin and stdout are TTYs and CI is unset', () => {
    const s = streams()
    expect(new Terminal({stdout: s.out, stderr: s.err, env: {}, stdinIsTTY: true, stdoutIsTTY: true}).canPrompt).toBe(
      true,
    )
    expect(new Terminal({stdout: s.out, stderr: s.err, env: {}, stdinIsTTY: false, stdoutIsTTY: true}).canPrompt).toBe(
      false,
    )
    expect(new Terminal({stdout: s.out, stderr: s.err, env: {}, stdinIsTTY: true, stdoutIsTTY: false}).canPrompt).toBe(
      false,
    )
    expect(
      new Terminal({stdout: s.out, stderr: s.err, env: {CI: 'true'}, stdinIsTTY: true, stdoutIsTTY: true}).canPrompt,
    ).toBe(false)
  })

  it('colours only a TTY, and never with NO_COLOR or --no-color; FORCE_COLOR forces it', async () => {
    const s = streams()
    const make = (env: NodeJS.ProcessEnv, tty: boolean, noColor = false) =>
      createTerminal({stdout: s.out, stderr: s.err, env, stdoutIsTTY: tty, stderrIsTTY: tty, noColor})
    expect((await make({}, true)).color.level).toBeGreaterThan(0)
    expect((await make({}, true)).color.red('x')).toBe('\u001B[31mx\u001B[39m')
    expect((await make({}, false)).color.level).toBe(0)
    expect((await make({NO_COLOR: '1'}, true)).color.level).toBe(0)
    expect((await make({}, true, true)).colorErr.level).toBe(0)
    expect((await make({FORCE_COLOR: '1'}, false)).color.level).toBe(1)
    expect((await make({FORCE_COLOR: '0'}, true)).color.level).toBe(0)
    expect((await make({TERM: 'dumb'}, true)).color.level).toBe(0)
    // Not coloured: no chalk at all.
    expect((await make({}, false)).color).toBe(plainColor)
  })

  it('plainColor writes what chalk writes at level 0, for every style chalk has', () => {
    const chalk = new Chalk({level: 0})
    const names = [...modifierNames, ...foregroundColorNames, ...backgroundColorNames]
    expect(names.length).toBeGreaterThan(40)
    const inputs: unknown[][] = [['text'], [''], ['a', 'b'], [42], [undefined], [null], [], ['x', undefined, 3]]
    type Styler = (...texts: unknown[]) => string
    const style = (c: unknown, path: string[]): Styler =>
      path.reduce((f, key) => (f as Record<string, unknown>)[key], c) as Styler
    for (const args of inputs) {
      expect((plainColor as unknown as Styler)(...args)).toBe((chalk as unknown as Styler)(...args))
      for (const path of [
        ...names.map((n) => [n]),
        ['bold', 'red'],
        ['visible'],
        ['visible', 'red'],
        ['red', 'visible'],
      ])
        expect([path.join('.'), style(plainColor, path)(...args)]).toEqual([
          path.join('.'),
          style(chalk, path)(...args),
        ])
      expect(plainColor.rgb(1, 2, 3).bold(...(args as string[]))).toBe(chalk.rgb(1, 2, 3).bold(...(args as string[])))
      expect(plainColor.bgHex('#fff')(...(args as string[]))).toBe(chalk.bgHex('#fff')(...(args as string[])))
      expect(plainColor.visible.ansi256(9)(...(args as string[]))).toBe(chalk.visible.ansi256(9)(...(args as string[])))
    }
    // Every style chalk has, and no other.
    for (const name of names)
      expect([name, typeof (plainColor as unknown as Record<string, unknown>)[name]]).toEqual([name, 'function'])
    expect((plainColor as unknown as Record<string, unknown>).notAStyle).toBeUndefined()
    expect(plainColor.level).toBe(0)
  })

  it('shows no progress when stderr is not a TTY', async () => {
    const s = streams()
    const term = new Terminal({stdout: s.out, stderr: s.err, env: {}, stderrIsTTY: false})
    const p = await term.progress('Copying', 3)
    p.tick()
    p.done()
    expect(s.text().stderr).toBe('')
  })

  it("escapes a tick's detail (an image id from state.json) on the spinner line", async () => {
    const s = streams()
    const term = new Terminal({stdout: s.out, stderr: s.err, env: {}, stderrIsTTY: true})
    const p = await term.progress('Measuring', 1)
    p.tick('\u001b]0;PWNED\u0007\u202eimg_0001')
    p.done()
    expect(s.text().stderr).toContain('\\x1b]0;PWNED\\x07<U+202E>img_0001')
    expect(s.text().stderr).not.toMatch(/PWNED\u0007|\u202e/u)
  })

  it('shows no spinner on a terminal that reports 0 columns (ora would loop for ever clearing its lines)', async () => {
    const s = streams()
    // Were a spinner started, its endless clearing would throw here instead of hanging the test.
    let writes = 0
    const write = s.err.write.bind(s.err) as (chunk: unknown) => boolean
    Object.assign(s.err, {
      columns: 0,
      write: (chunk: unknown) => {
        if (++writes > 1000) throw new Error('the spinner keeps writing')
        return write(chunk)
      },
    })
    const term = new Terminal({stdout: s.out, stderr: s.err, env: {}, stderrIsTTY: true})
    const p = await term.progress('Copying', 2)
    p.tick()
    p.tick()
    p.done()
    expect(s.text().stderr).toBe('')
  })

  it('shows a spinner with a counter on a TTY', async () => {
    const s = streams()
    const term = new Terminal({stdout: s.out, stderr: s.err, env: {}, stderrIsTTY: true})
    const p = await term.progress('Copying', 2)
    p.tick()
    p.tick()
    p.done()
    expect(s.text().stderr).toContain('Copying')
  })
})
