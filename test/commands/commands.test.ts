/**
 * Command tests: the oclif commands run in-process through @oclif/test's runCommand, on a real dataset in a temp
 * folder, with the Terminal replaced so output can be checked.
 */
import {runCommand} from '@oclif/test'
import {PassThrough} from 'node:stream'
import {join} from 'node:path'
import {setTerminalFactory, Terminal} from '../../src/ui/terminal.js'
import {copyFixtures, makeTemp, removeTemp, ROOT} from '../helpers.js'

let dir: string
let stdout = ''
let stderr = ''
let restore: () => void

beforeAll(async () => {
  dir = await makeTemp()
  await copyFixtures(join(dir, 'imgs'), ['plasma-Kite-screenshot.jpg', 'skimage-horse.png', 'skimage-truncated.jpg'])
})
afterAll(async () => removeTemp(dir))

beforeEach(() => {
  stdout = ''
  stderr = ''
  restore = setTerminalFactory((options) => {
    const out = new PassThrough()
    const err = new PassThrough()
    out.on('data', (d) => (stdout += d))
    err.on('data', (d) => (stderr += d))
    return new Terminal({
      ...options,
      stdout: out,
      stderr: err,
      env: {},
      stdinIsTTY: false,
      stdoutIsTTY: false,
      stderrIsTTY: false,
    })
  })
})
afterEach(() => restore())

const run = (args: string[]) => runCommand(args, {root: ROOT})

describe('commands in-process', () => {
  it('init, tag, status and next --print work together', async () => {
    const init = await run(['init', join(dir, 'imgs'), '--json'])

    expect(init.error).toBeUndefined()
    const summary = init.result as {added: {id: string}[]; problems: {source: string}[]}
    expect(summary.added.map((a) => a.id)).toEqual(['img_0001', 'img_0002'])
    expect(summary.problems.map((p) => p.source)).toEqual(['skimage-truncated.jpg'])

    const tag = await run(['tag', '-C', join(dir, 'imgs'), '1', '--add', 'kite,sky']) // runCommand splits arguments on spaces
    expect(tag.error).toBeUndefined()
    expect(stdout).toContain('img_0001: +kite +sky')
    expect(stderr).toContain('1 of 1 image changed.')

    const status = await run(['status', '-C', join(dir, 'imgs'), '--json'])
    const report = status.result as {images: {tagged: number; pending: number}; next: {id: string}}
    expect(report.images).toMatchObject({tagged: 1, pending: 1})
    expect(report.next.id).toBe('img_0002')

    stdout = ''
    await run(['next', '-C', join(dir, 'imgs'), '--print'])
    expect(stdout).toBe(`img_0002\t${join(dir, 'imgs', 'output', 'img_0002.png')}\n`)
  })

  it('prints one error with a hint and the documented exit code', async () => {
    const result = await run(['tag', '-C', join(dir, 'imgs'), '99', '--add', 'x'])
    expect(result.error?.oclif?.exit).toBe(2)
    expect(stderr).toContain('error: No image matches "99".')
    expect(stderr).toContain('hint:')
    expect(stderr.match(/error:/g)).toHaveLength(1)
  })

  it('refuses to prompt without a terminal, naming --print', async () => {
    const result = await run(['next', '-C', join(dir, 'imgs')])
    expect(result.error?.oclif?.exit).toBe(2)
    expect(stderr).toContain('lora next --print')
  })

  it('exits 3 when no dataset is found: a missing folder "does not exist", a plain folder "is not a lora dataset"', async () => {
    const result = await run(['status', '-C', join(dir, 'nowhere')])
    expect(result.error?.oclif?.exit).toBe(3)
    expect(stderr).toContain(`${join(dir, 'nowhere')} does not exist.`)
    expect(stderr).not.toContain('Run `lora init')
    stderr = ''
    const plain = await run(['status', '-C', dir])
    expect(plain.error?.oclif?.exit).toBe(3)
    expect(stderr).toContain('is not a lora dataset')
  })
})
