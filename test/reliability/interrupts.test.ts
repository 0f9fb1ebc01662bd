/**
 * Rule 11 of issue 12 (README "Safety model", interrupts): SIGINT, SIGTERM and SIGHUP during a journaled change
 * finish that change before the process exits, say so on stderr, exit 130 / 143 / 129, and leave no journal and no
 * lock; a signal before the change stops at once and changes nothing; a third signal while finishing stops at once
 * and leaves the change to the next command. Each case spawns the built CLI on generated images (real photo crops)
 * and sends the signal from outside once `.lora-tagger/journal.json` (or, for "before", the lock) exists.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {spawn} from 'node:child_process'
import {
  cleanEnv,
  cleanup,
  cliBin,
  generateImages,
  imageShas,
  killChildren,
  lora,
  loraOk,
  readState,
  snapshot,
  spawnLora,
  tempDir,
  type RunResult,
} from './reliability-helpers.js'

const IMAGES = 300

let template: string
let shas: string[]

beforeAll(async () => {
  template = join(await tempDir('lora-rel-sig-tpl-'), 'imgs')
  shas = await generateImages(template, IMAGES)
}, 300_000)
afterAll(async () => {
  killChildren()
  await cleanup()
})

async function freshCopy(): Promise<string> {
  const dir = join(await tempDir('lora-rel-sig-'), 'imgs')
  await fsp.cp(template, dir, {recursive: true})
  return dir
}

/**
 * Spawns `lora args` in `dir`, waits (polling every millisecond) until `watch` exists, then sends the signals
 * `signals` (one per millisecond). Resolves with the result, and whether the signal was sent before the process ended.
 */
async function interruptWhen(
  args: string[],
  dir: string,
  watch: string,
  signals: NodeJS.Signals[],
  group = false,
): Promise<{result: RunResult; sent: boolean}> {
  const {child, done} = group ? spawnGroup(args, dir) : spawnLora(args, dir)
  let ended = false
  void done.then(() => (ended = true))
  let sent = false
  while (!ended) {
    if (fs.existsSync(watch)) {
      for (const signal of signals) {
        if (child.exitCode !== null || child.signalCode !== null) break
        if (group) process.kill(-child.pid!, signal)
        else child.kill(signal)
        sent = true
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
      break
    }
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  return {result: await done, sent}
}

/**
 * Spawns `lora args` as the leader of its own process group, so that a signal can go to the whole group as a
 * terminal's Ctrl-C does (reaching the `git` and `sync` children lora runs too).
 */
function spawnGroup(args: string[], cwd: string): {child: ReturnType<typeof spawn>; done: Promise<RunResult>} {
  const child = spawn(process.execPath, [cliBin(), ...args], {
    cwd,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({code, signal, stdout, stderr}))
  })
  return {child, done}
}

/** Runs `interruptWhen` up to 4 times until the signal lands while the process runs (a fast machine may finish first). */
async function interruptedRun(
  setup: () => Promise<string>,
  args: string[],
  watch: (dir: string) => string,
  signals: NodeJS.Signals[],
  group = false,
): Promise<{dir: string; result: RunResult}> {
  for (let attempt = 0; ; attempt++) {
    const dir = await setup()
    const {result, sent} = await interruptWhen(args, dir, watch(dir), signals, group)
    if ((sent && result.code !== 0) || attempt === 3) return {dir, result}
  }
}

const journalOf = (dir: string) => join(dir, '.lora-tagger', 'journal.json')
const lockOf = (dir: string) => join(dir, '.lora-tagger', 'lock')

/** The dataset after an interrupted-then-finished change: nothing to recover, every image exactly once. */
async function expectFinished(dir: string): Promise<void> {
  expect(fs.existsSync(journalOf(dir))).toBe(false)
  expect(fs.existsSync(lockOf(dir))).toBe(false)
  expect(await imageShas(join(dir, 'output'))).toEqual(shas)
  expect(await imageShas(dir)).toEqual([])
  const status = await loraOk(['status', '--json'], {cwd: dir})
  expect(status.stderr).toBe('')
  expect(JSON.parse(status.stdout).images.total).toBe(IMAGES)
}

describe.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const)('%s during `lora init --move`', (signal, code) => {
  it(`finishes moving every image, says so, exits ${code}`, async () => {
    const {dir, result} = await interruptedRun(freshCopy, ['init', '.', '--move'], journalOf, [signal])
    expect({code: result.code, signal: result.signal}).toEqual({code, signal: null})
    expect(result.stderr).toContain(`Interrupted: finishing moving ${IMAGES} images first`)
    expect(result.stderr).toContain(`Interrupted: finished moving ${IMAGES} images; nothing lost.`)
    expect(result.stderr).not.toMatch(/unexpected|error:/u)
    await expectFinished(dir)
  }, 120_000)
})

it('SIGINT before the journal stops at once: nothing changed, no .lora-tagger/ left, exit 130', async () => {
  // The lock exists while init reads and hashes the images, before it journals anything.
  const {dir, result} = await interruptedRun(freshCopy, ['init', '.', '--move'], lockOf, ['SIGINT'])
  expect(result.code).toBe(130)
  expect(result.stderr).toContain('Interrupted before anything was changed.')
  expect(fs.existsSync(join(dir, '.lora-tagger'))).toBe(false)
  expect(fs.existsSync(join(dir, 'output'))).toBe(false)
  expect(await imageShas(dir)).toEqual(shas)
}, 120_000)

it('three SIGINTs while finishing stop at once; the journal is kept and the next command finishes it', async () => {
  const {dir, result} = await interruptedRun(freshCopy, ['init', '.', '--move'], journalOf, [
    'SIGINT',
    'SIGINT',
    'SIGINT',
  ])
  expect(result.code).toBe(130)
  if (result.stderr.includes('Stopped before')) {
    // The third signal landed before the change was done.
    expect(result.stderr).toContain('Still finishing moving')
    expect(fs.existsSync(lockOf(dir))).toBe(false)
    expect(fs.existsSync(journalOf(dir))).toBe(true)
    await loraOk(['status'], {cwd: dir})
  } else {
    // The change finished between the signals.
    expect(result.stderr).toContain(`Interrupted: finished moving ${IMAGES} images; nothing lost.`)
  }
  await expectFinished(dir)
}, 120_000)

it('SIGTERM during `lora tag --all` finishes the tag change, exit 143', async () => {
  const base = await freshCopy()
  await loraOk(['init', '.', '--move'], {cwd: base})
  const {dir, result} = await interruptedRun(
    async () => {
      const copy = join(await tempDir('lora-rel-sig-tag-'), 'imgs')
      await fsp.cp(base, copy, {recursive: true})
      return copy
    },
    ['tag', '--all', '--add', 'solo'],
    journalOf,
    ['SIGTERM'],
  )
  expect(result.code).toBe(143)
  expect(result.stderr).toMatch(/Interrupted: finished the tag change \(\d+ files\); nothing lost\./u)
  expect(fs.existsSync(journalOf(dir))).toBe(false)
  expect(fs.existsSync(lockOf(dir))).toBe(false)
  const state = await readState(dir)
  expect(state.images.every((i: {tags: string[]}) => i.tags.includes('solo'))).toBe(true)
  expect((await lora(['status'], {cwd: dir})).stderr).toBe('')
}, 180_000)

describe('with dataset history on', () => {
  let base: string
  beforeAll(async () => {
    base = await freshCopy()
    await loraOk(['init', '.', '--move', '--git'], {cwd: base})
  }, 120_000)
  const copy = async () => {
    const dir = join(await tempDir('lora-rel-sig-git-'), 'imgs')
    await fsp.cp(base, dir, {recursive: true})
    return dir
  }

  it('SIGHUP during `lora tags rename` finishes and commits the rename, exit 129', async () => {
    const tagged = await copy()
    await loraOk(['tag', '--all', '--add', 'longhair'], {cwd: tagged})
    const {dir, result} = await interruptedRun(
      async () => {
        const d = join(await tempDir('lora-rel-sig-ren-'), 'imgs')
        await fsp.cp(tagged, d, {recursive: true})
        return d
      },
      ['tags', 'rename', 'longhair', 'long hair'],
      journalOf,
      ['SIGHUP'],
    )
    expect({code: result.code, stderr: result.stderr}).toEqual({
      code: 129,
      stderr: expect.stringMatching(
        /Interrupted: finished the tags rename change \(\d+ files\) and committed it; nothing lost\.\n$/u,
      ),
    })
    expect(fs.existsSync(journalOf(dir))).toBe(false)
    expect(fs.existsSync(lockOf(dir))).toBe(false)
    const state = await readState(dir)
    expect(state.images.every((i) => i.tags.includes('long hair') && !i.tags.includes('longhair'))).toBe(true)
    const status = await loraOk(['status', '--json'], {cwd: dir})
    expect(status.stderr).toBe('')
    expect(JSON.parse(status.stdout).git).toEqual({uncommitted: []})
  }, 180_000)

  it('Ctrl-C at a terminal (SIGINT to the whole process group, git and sync included) during `lora tag --all`: exit 130, nothing lost', async () => {
    const {dir, result} = await interruptedRun(copy, ['tag', '--all', '--add', 'solo'], journalOf, ['SIGINT'], true)
    expect(result.code).toBe(130)
    expect(result.stderr).toMatch(/Interrupted: finished the tag change \(\d+ files\)/u)
    expect(result.stderr).not.toMatch(/this was unexpected/iu)
    expect(fs.existsSync(journalOf(dir))).toBe(false)
    expect(fs.existsSync(lockOf(dir))).toBe(false)
    const state = await readState(dir)
    expect(state.images.every((i) => i.tags.includes('solo'))).toBe(true)
    expect((await lora(['status'], {cwd: dir})).stderr).toBe('')
  }, 180_000)
})

it('SIGINT during `lora export` (no journal: outside the dataset) stops at once and says the export is incomplete', async () => {
  const base = await freshCopy()
  await loraOk(['init', '.', '--move'], {cwd: base})
  const before = await snapshot(base)
  const dest = join(await tempDir('lora-rel-sig-exp-'), 'train')
  const {result, sent} = await interruptWhen(
    ['export', '--include-pending', '--format', 'folder', dest],
    base,
    join(dest, 'img_0001.txt'),
    ['SIGINT'],
  )
  expect(sent).toBe(true)
  expect(result.code).toBe(130)
  expect(result.stderr).toMatch(
    new RegExp(
      `^Interrupted: the export to ${dest.replaceAll(/[.*+?^${}()|[\]\\]/gu, '\\$&')} is incomplete \\(\\d+ of ${IMAGES} images written\\); export again with --force to complete it\\. The dataset itself was not changed\\.$`,
      'mu',
    ),
  )
  expect(await snapshot(base)).toEqual(before)
}, 120_000)
