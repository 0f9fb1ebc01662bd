import {PassThrough} from 'node:stream'
import {Terminal} from '../../src/ui/terminal.js'

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

  it('colours only a TTY, and never with NO_COLOR or --no-color; FORCE_COLOR forces it', () => {
    const s = streams()
    const make = (env: NodeJS.ProcessEnv, tty: boolean, noColor = false) =>
      new Terminal({stdout: s.out, stderr: s.err, env, stdoutIsTTY: tty, stderrIsTTY: tty, noColor})
    expect(make({}, true).color.level).toBeGreaterThan(0)
    expect(make({}, false).color.level).toBe(0)
    expect(make({NO_COLOR: '1'}, true).color.level).toBe(0)
    expect(make({}, true, true).colorErr.level).toBe(0)
    expect(make({FORCE_COLOR: '1'}, false).color.level).toBe(1)
    expect(make({FORCE_COLOR: '0'}, true).color.level).toBe(0)
    expect(make({TERM: 'dumb'}, true).color.level).toBe(0)
  })

  it('shows no progress when stderr is not a TTY', async () => {
    const s = streams()
    const term = new Terminal({stdout: s.out, stderr: s.err, env: {}, stderrIsTTY: false})
    const p = await term.progress('Copying', 3)
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
