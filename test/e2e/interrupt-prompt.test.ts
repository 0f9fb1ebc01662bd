/**
 * Stop signals at the tagging prompt (issue 12 rule 11; README "Safety model"): the terminal closing (SIGHUP) or a
 * `kill` (SIGTERM) while `lora resume` waits for tags stops at once, since no change is under way. The images saved
 * before stay saved, the answer being typed is not saved, the lock is gone, and the exit code is the signal's (129,
 * 143). The built CLI in a pseudo-terminal (node-pty); needs `npm run build`.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {killRunning, PtySession} from './pty.js'
import {cleanEnv, copyFixtures, makeTemp, readState, removeTemp, runCli} from '../helpers.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'plasma-Path-screenshot.jpg']

const temps: string[] = []
afterEach(() => killRunning())
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

async function dataset(): Promise<string> {
  const tmp = await makeTemp('lora-pty-sig-')
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await copyFixtures(root, IMAGES)
  expect((await runCli(['init', '.'], {cwd: root})).code).toBe(0)
  return root
}

function start(root: string, args: string[]): PtySession {
  const env: NodeJS.ProcessEnv = {...cleanEnv(), TERM: 'xterm-256color', LORA_VIEWER: 'none'}
  delete env.CI
  return new PtySession(args, root, env)
}

describe.each([
  ['SIGHUP', 129],
  ['SIGTERM', 143],
] as const)('%s at the prompt of `lora resume`', (signal, code) => {
  it(`after one saved image: exit ${code}, the saved image kept, the typed answer not saved, no lock`, async () => {
    const root = await dataset()
    const session = start(root, ['resume'])
    await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
    let at = session.send('sky')
    await session.waitFor(/› sky/u, at)
    at = session.send('\r')
    await session.waitFor(/added sky/u, at)
    at = session.send('\r')
    await session.waitFor(/Saved img_0001: \+sky/u, at)
    await session.waitFor(/Tags for img_0002[\s\S]*esc quit/u, at)
    at = session.send('half')
    await session.waitFor(/› half/u, at)
    process.kill(session.pid, signal)
    const exit = await session.exit()
    expect(exit.exitCode).toBe(code)
    expect(session.text).toContain(
      'Interrupted between changes: every change made before was finished and saved; nothing is half-done.',
    )
    expect(fs.existsSync(join(root, '.lora-tagger', 'lock'))).toBe(false)
    const state = await readState(root)
    expect(state.images.map((i) => [i.id, i.status, i.tags])).toEqual([
      ['img_0001', 'tagged', ['sky']],
      ['img_0002', 'pending', []],
      ['img_0003', 'pending', []],
    ])
    expect(await fsp.readFile(join(root, 'output', 'img_0001.txt'), 'utf8')).toBe('sky\n')
  }, 30_000)
})
