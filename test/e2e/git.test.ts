/**
 * Dataset history in git through the built binary (`bin/run.js`, build first): what needs a process of its own.
 * `lora next` saving in a real pseudo-terminal (node-pty) makes one commit, and a smoke run of the history
 * commands (init --git, tag, tags rename, log, blame, a refusal's exit code). The command behaviour (commits,
 * trailers, --no-commit, log, blame, undo, status, refusals) is tested in-process in test/commands/git.test.ts.
 * Real `git` on real repositories in temp folders; no mocks.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {PtySession} from './pty.js'
import {cleanEnv} from '../helpers.js'
import {
  ARROW,
  DASH,
  GIT_ENV,
  MINUS,
  commitCount,
  git,
  head,
  message,
  porcelain,
  subject,
  touched,
} from '../git-helpers.js'
import {
  cleanupTemps,
  cloneDataset,
  copyFixtures,
  GOOD_FIXTURES,
  lora,
  loraOk,
  readText,
  type RunResult,
  tempDir,
} from './e2e-helpers.js'

/** Three fixture images: img_0001..img_0003 (all jpg), in this order. */
const THREE = GOOD_FIXTURES.slice(0, 3)

afterAll(cleanupTemps)

/** Generous for loaded machines: each test runs the CLI and git a few dozen times. */
const TIMEOUT = 240_000

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** The CLI with the fixed git identity. */
function run(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return lora(args, {cwd, env: {...GIT_ENV, ...env}})
}
/** As `run`, failing (showing the output) unless it exits 0. */
function ok(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return loraOk(args, {cwd, env: {...GIT_ENV, ...env}})
}

const caption = (ds: string, id: string): Promise<string> => readText(join(ds, 'output', `${id}.txt`))

let template: string

/** `lora init --git --move` on three fixture images, through the binary. */
beforeAll(async () => {
  template = join(await tempDir('lora-git-tpl-'), 'imgs')
  await copyFixtures(template, THREE)
  await ok(['init', '.', '--git', '--move'], template)
}, 60_000)

/** A fresh copy of the template dataset, with its repository. */
const fresh = (): Promise<string> => cloneDataset(template)

// ---------------------------------------------------------------------------------------------------------------

describe('history commands through bin/run.js (smoke)', () => {
  it(
    'init --git, tag, tags rename, log, blame: one commit per change; a refusal exits 1 with one error',
    async () => {
      const ds = await fresh()
      expect(await commitCount(ds)).toBe(1)
      expect(await subject(ds)).toBe(`lora: init ${DASH} 3 images`)
      await ok(['tag', '1', '2', '--add', 'longhair'], ds)
      await ok(['tag', '1', '--add', 'smile'], ds)
      const rename = await ok(['tags', 'rename', 'longhair', 'long hair'], ds)
      expect(rename.stdout).toBe('')
      expect(await commitCount(ds)).toBe(4)
      expect(await message(ds)).toBe(
        `tags rename "longhair" ${ARROW} "long hair" in 2 captions\n\nLora-Change: tags rename\nLora-Images: img_0001 img_0002\n`,
      )
      expect(await touched(ds)).toEqual([
        '.lora-tagger/state.json',
        'output/img_0001.txt',
        'output/img_0002.txt',
        'output/tags.txt',
      ])
      expect(await porcelain(ds)).toBe('')

      const log = await ok(['log'], ds)
      expect(log.stderr).toBe('')
      const lines = log.stdout.split('\n').filter(Boolean)
      expect(lines).toHaveLength(5)
      expect(lines[0]).toMatch(
        new RegExp(
          `^${(await head(ds)).slice(0, 7)} \\d{4}-\\d\\d-\\d\\d Lora Tester\\s+img_0001\\s+\\+long hair ${MINUS}longhair$`,
          'u',
        ),
      )
      const events = JSON.parse((await ok(['log', '--json', '-n', '1'], ds)).stdout).events
      expect(events).toEqual([
        expect.objectContaining({
          commit: await head(ds),
          id: 'img_0001',
          added: ['long hair'],
          removed: ['longhair'],
          author: 'Lora Tester',
        }),
      ])

      const blame = JSON.parse((await ok(['blame', '1', '--json'], ds)).stdout)
      expect(blame.tags.map((t: {tag: string; subject: string | null}) => [t.tag, t.subject])).toEqual([
        ['long hair', `tags rename "longhair" ${ARROW} "long hair" in 2 captions`],
        ['smile', 'tag img_0001: +smile'],
      ])

      await fsp.writeFile(join(ds, '.git', 'index.lock'), '')
      const refused = await run(['tag', '3', '--add', 'x'], ds)
      expect(refused).toMatchObject({code: 1, signal: null, stdout: ''})
      expect(refused.stderr.match(/^error: /gmu)).toHaveLength(1)
      expect(refused.stderr).toMatch(/index\.lock/u)
      expect(await caption(ds, 'img_0003')).toBe('')
    },
    TIMEOUT,
  )
})

describe('one commit per change: lora next in a pseudo-terminal', () => {
  it(
    'a `lora next` save is one commit; the session cursor is not committed, the image state is',
    async () => {
      const ds = await fresh()
      const before = await commitCount(ds)
      const session = startPty(['next'], ds)
      try {
        await session.waitFor(/Tags for img_0001[\s\S]*esc quit/u)
        await addTag(session, 'red hair')
        await addTag(session, 'smile')
        const at = session.send('\r')
        await session.waitFor(/Saved img_0001: \+red hair \+smile/u, at)
        expect((await session.exit()).exitCode).toBe(0)
      } finally {
        session.kill()
      }
      expect(await caption(ds, 'img_0001')).toBe('red hair, smile\n')
      expect(await commitCount(ds)).toBe(before + 1)
      expect(await message(ds)).toBe('tag img_0001: +red hair +smile\n\nLora-Change: next\nLora-Images: img_0001\n')
      expect(await touched(ds)).toEqual(['.lora-tagger/state.json', 'output/img_0001.txt', 'output/tags.txt'])
      // state.json as committed has the image tagged.
      const committedState = JSON.parse(await git(ds, ['show', 'HEAD:.lora-tagger/state.json']))
      expect(committedState.images[0]).toMatchObject({id: 'img_0001', status: 'tagged', tags: ['red hair', 'smile']})
      // session.json exists, is ignored, and was never committed.
      expect(fs.existsSync(join(ds, '.lora-tagger', 'session.json'))).toBe(true)
      expect((await git(ds, ['check-ignore', '.lora-tagger/session.json'])).trim()).toBe('.lora-tagger/session.json')
      expect(await git(ds, ['log', '--all', '--format=%H', '--', '.lora-tagger/session.json'])).toBe('')
      expect(await porcelain(ds)).toBe('')
    },
    TIMEOUT,
  )
})

// ---------------------------------------------------------------------------------------------------------------
// `lora next` in a pseudo-terminal (the pattern of test/e2e/interactive.test.ts)

function startPty(args: string[], cwd: string): PtySession {
  const env: NodeJS.ProcessEnv = {...cleanEnv(), ...GIT_ENV, TERM: 'xterm-256color', LORA_VIEWER: 'none'}
  // lora never prompts when CI is set.
  delete env.CI
  return new PtySession(args, cwd, env)
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')
}

/** Types a tag, waits until the input line shows it, presses Enter and waits until the prompt shows it added. */
async function addTag(session: PtySession, tag: string): Promise<void> {
  let at = session.send(tag)
  await session.waitFor(new RegExp(`› ${escapeRe(tag)}(?=\\s|$)`, 'u'), at)
  at = session.send('\r')
  await session.waitFor(new RegExp(`added ${escapeRe(tag)}`, 'u'), at)
}
