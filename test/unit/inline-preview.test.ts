/**
 * How a run chooses its protocol (ui/inline-preview.ts): the terminal's answer to the query, read from a stdin
 * stream in raw mode; a terminal that does not answer costs at most the timeout; keys typed meanwhile are given
 * back; inside tmux a real `tmux` program (a script on PATH here) decides between passthrough and half blocks.
 * Streams stand in for the terminal; the files, images and programs are real.
 */
import {promises as fsp} from 'node:fs'
import {join} from 'node:path'
import {PassThrough, Writable} from 'node:stream'
import {InlinePreview, QUERY_TIMEOUT_MS, SIXEL_GUESSED_CELL} from '../../src/ui/inline-preview.js'
import {loadChalk, Terminal} from '../../src/ui/terminal.js'
import {DEFAULT_CELL, TERMINAL_QUERY, tmuxPassthrough} from '../../src/core/inline-image.js'
import {FIXTURES, makeTemp, removeTemp} from '../helpers.js'

const PHOTO = join(FIXTURES, 'plasma-Kite-screenshot.jpg')
const temps: string[] = []
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

/** A terminal of 100×40 cells whose stdin gets `answer` when the query is written (nothing when undefined). */
function fakeTerminal(env: NodeJS.ProcessEnv, answer?: string) {
  const written: string[] = []
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    isRaw: false,
    setRawMode(raw: boolean) {
      stdin.isRaw = raw
      return stdin
    },
  })
  const stdout = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        const text = chunk.toString()
        written.push(text)
        if (text === TERMINAL_QUERY && answer !== undefined) setImmediate(() => stdin.write(answer))
        callback()
      },
    }),
    {isTTY: true, columns: 100, rows: 40},
  )
  const term = new Terminal({stdout, stdin, env, stdoutIsTTY: true, stdinIsTTY: true})
  return {term, stdin, written}
}

// These Terminals are coloured (a TTY): chalk, which createTerminal loads for them, is loaded here.
beforeAll(() => loadChalk())

describe('the query', () => {
  it('kitty says OK: kitty, with the cell size it gave; stdin is left as it was', async () => {
    const {term, stdin, written} = fakeTerminal({TERM: 'xterm-256color'}, '\x1b_Gi=31;OK\x1b\\\x1b[6;18;9t\x1b[?62;22c')
    const mode = await new InlinePreview(term).prepare()
    expect(mode).toMatchObject({protocol: 'kitty', cell: {width: 9, height: 18}, tmux: false})
    expect(written).toEqual([TERMINAL_QUERY])
    expect(stdin.isRaw).toBe(false)
  })

  it('DA1 with 4: sixel; without: half blocks, in 256 colours unless COLORTERM says truecolor', async () => {
    expect(await new InlinePreview(fakeTerminal({TERM: 'xterm'}, '\x1b[?63;1;2;4;6c').term).prepare()).toMatchObject({
      protocol: 'sixel',
    })
    expect(
      await new InlinePreview(fakeTerminal({TERM: 'xterm', FORCE_COLOR: '1'}, '\x1b[?1;2c').term).prepare(),
    ).toMatchObject({protocol: 'halfblocks', colors: '256'})
  })

  it(`a terminal that does not answer costs at most ${QUERY_TIMEOUT_MS} ms, once; keys typed meanwhile are given back`, async () => {
    const {term, stdin, written} = fakeTerminal({TERM: 'xterm', FORCE_COLOR: '3', COLORTERM: 'truecolor'})
    const preview = new InlinePreview(term)
    const started = Date.now()
    stdin.write('sk')
    const mode = await preview.prepare()
    const took = Date.now() - started
    expect(took).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS - 20)
    // Well under a second more on a loaded machine; a query that never timed out would hang until jest's timeout.
    expect(took).toBeLessThan(QUERY_TIMEOUT_MS + 2000)
    expect(mode).toMatchObject({protocol: 'halfblocks', colors: 'truecolor'})
    // Asked once: the second call gives the same answer without writing the query again.
    expect(await preview.prepare()).toBe(mode)
    expect(written).toEqual([TERMINAL_QUERY])
    expect(String(stdin.read())).toBe('sk')
  })

  it('sixel without a cell size guesses small cells (an image never covers more rows than kept), with one takes it', async () => {
    expect(await new InlinePreview(fakeTerminal({TERM: 'foot'}, '\x1b[?62;4c').term).prepare()).toMatchObject({
      protocol: 'sixel',
      cell: SIXEL_GUESSED_CELL,
    })
    expect(
      await new InlinePreview(fakeTerminal({TERM: 'foot'}, '\x1b[6;17;8t\x1b[?62;4c').term).prepare(),
    ).toMatchObject({protocol: 'sixel', cell: {width: 8, height: 17}})
    expect(await new InlinePreview(fakeTerminal({TERM: 'xterm-kitty'}, '\x1b[?62c').term).prepare()).toMatchObject({
      protocol: 'kitty',
      cell: DEFAULT_CELL,
    })
  })

  it('NO_COLOR: half blocks are not drawn at all; a protocol that needs no colour still is', async () => {
    expect(await new InlinePreview(fakeTerminal({TERM: 'xterm', NO_COLOR: '1'}, '\x1b[?1;2c').term).prepare()).toBe(
      null,
    )
    expect(
      await new InlinePreview(fakeTerminal({TERM: 'foot', NO_COLOR: '1'}, '\x1b[?62;4c').term).prepare(),
    ).toMatchObject({protocol: 'sixel'})
  })
})

describe('inside tmux', () => {
  async function fakeTmux(says: string): Promise<string> {
    const dir = await makeTemp('lora-tmux-')
    temps.push(dir)
    await fsp.writeFile(
      join(dir, 'tmux'),
      `#!/bin/sh\n[ "$*" = "show-options -gqv allow-passthrough" ] && echo ${says}\n`,
    )
    await fsp.chmod(join(dir, 'tmux'), 0o755)
    return dir
  }

  it("allow-passthrough on: kitty's sequences are wrapped for tmux, and nothing is asked of the terminal", async () => {
    const bin = await fakeTmux('on')
    const env = {TERM: 'tmux-256color', TMUX: '/tmp/tmux-0/default,1,0', KITTY_WINDOW_ID: '1', PATH: bin}
    const {term, written} = fakeTerminal(env, '\x1b[?1;2c')
    const preview = new InlinePreview(term, 6)
    expect(await preview.prepare()).toMatchObject({protocol: 'kitty', tmux: true})
    expect(await preview.drawHere(PHOTO)).toBeUndefined()
    const out = written.join('')
    expect(out).not.toContain(TERMINAL_QUERY)
    const start = out.indexOf('\x1bPtmux;\x1b\x1b_Ga=T,f=100,')
    expect(start).toBeGreaterThan(0)
    // Every chunk is one passthrough sequence: the kitty sequence inside, its ESCs doubled.
    const inner = out.slice(start).match(/\x1bPtmux;(?:[^\x1b]|\x1b\x1b)*\x1b\\/gu) ?? []
    expect(inner.length).toBeGreaterThan(1)
    for (const wrapped of inner) {
      const kitty = wrapped.slice('\x1bPtmux;'.length, -2).replaceAll('\x1b\x1b', '\x1b')
      expect(tmuxPassthrough(kitty)).toBe(wrapped)
      expect(kitty).toMatch(/^\x1b_G[^;]*;[A-Za-z0-9+/=]*\x1b\\$/u)
    }
  })

  it('allow-passthrough off, or no tmux to ask: half blocks', async () => {
    const bin = await fakeTmux('off')
    const env = {TERM: 'tmux-256color', TMUX: '/tmp/tmux-0/default,1,0', KITTY_WINDOW_ID: '1', FORCE_COLOR: '1'}
    expect(await new InlinePreview(fakeTerminal({...env, PATH: bin}).term).prepare()).toMatchObject({
      protocol: 'halfblocks',
      because: 'tmux without allow-passthrough',
    })
    const empty = await makeTemp('lora-no-tmux-')
    temps.push(empty)
    expect(await new InlinePreview(fakeTerminal({...env, PATH: empty}).term).prepare()).toMatchObject({
      protocol: 'halfblocks',
    })
  })
})
