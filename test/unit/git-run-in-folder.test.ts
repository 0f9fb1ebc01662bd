/**
 * runInFolder (src/adapters/git.ts), the one git process of `lora log` and `lora blame`: run in a folder of a
 * repository (paths relative to it), undefined in no repository, and done when git is: simple-git leaves no timer
 * behind to hold the process (its default made a 50 ms one after every call, which `lora log` waited for).
 */
import {createHook} from 'node:async_hooks'
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import {join} from 'node:path'
import {GitError, runInFolder} from '../../src/adapters/git.js'
import {GIT_ENV} from '../git-helpers.js'
import {cleanupTemps, tempDir} from '../e2e/e2e-helpers.js'

afterAll(cleanupTemps)

/** How many timers `run` makes (async_hooks sees each one made; timers of earlier tests expiring meanwhile do not count). */
async function timersMadeBy<T>(run: () => Promise<T>): Promise<{result: T; timers: number}> {
  let timers = 0
  const hook = createHook({
    init(_id, type) {
      if (type === 'Timeout') timers++
    },
  }).enable()
  try {
    return {result: await run(), timers}
  } finally {
    hook.disable()
  }
}

describe('runInFolder', () => {
  it('runs git in a sub folder of the repository, paths relative to it; leaves no timer running', async () => {
    const top = await tempDir('lora-run-in-folder-')
    const git = (...args: string[]) =>
      execFileSync('git', args, {cwd: top, env: {...process.env, ...GIT_ENV}, encoding: 'utf8'})
    git('init', '--quiet')
    fs.mkdirSync(join(top, 'sub', 'out'), {recursive: true})
    fs.writeFileSync(join(top, 'sub', 'out', 'a.txt'), 'a\n')
    fs.writeFileSync(join(top, 'b.txt'), 'b\n')
    git('add', '.')
    git('commit', '--quiet', '-m', 'one')
    const {result: text, timers} = await timersMadeBy(() =>
      runInFolder(
        join(top, 'sub'),
        ['log', '--format=%s', '--name-only', '--relative', '--', 'out/*.txt'],
        'read the history',
      ),
    )
    expect(timers).toBe(0)
    expect(text).toBe('one\n\nout/a.txt\n')
  })

  it('is undefined in no repository; a failure of git is a GitError naming the step', async () => {
    const dir = await tempDir('lora-run-in-folder-none-')
    expect(await runInFolder(dir, ['log'], 'read the history')).toBeUndefined()
    execFileSync('git', ['init', '--quiet'], {cwd: dir})
    const failed = await runInFolder(dir, ['log'], 'read the history').catch((error: unknown) => error)
    expect(failed).toBeInstanceOf(GitError)
    expect((failed as GitError).message).toMatch(/^git failed to read the history: fatal: .*does not have any commits/u)
  })
})
