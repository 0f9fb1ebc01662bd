/**
 * parseStatusV2 (src/adapters/git.ts) on what the real `git status --porcelain=v2 --branch -z` prints: before the
 * first commit, with nothing staged, with a change, a rename (two records) and a deletion staged, on a detached HEAD.
 */
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import {join} from 'node:path'
import {parseCatFileBatch, parseStatusV2} from '../../src/adapters/git.js'
import {GIT_ENV} from '../git-helpers.js'
import {cleanupTemps, tempDir} from '../e2e/e2e-helpers.js'

afterAll(cleanupTemps)

describe('parseStatusV2', () => {
  it('reads HEAD, a detached HEAD and whether anything is staged from real git output', async () => {
    const dir = await tempDir('lora-status-v2-')
    const git = (...args: string[]) =>
      execFileSync('git', args, {cwd: dir, env: {...process.env, ...GIT_ENV}, encoding: 'utf8'})
    const status = () => parseStatusV2(git('status', '--porcelain=v2', '--branch', '-z', '--untracked-files=no'))
    git('init', '--quiet')
    fs.writeFileSync(join(dir, 'a.txt'), 'a\n')
    expect(status()).toEqual({head: undefined, detached: false, staged: false})
    git('add', 'a.txt')
    expect(status()).toEqual({head: undefined, detached: false, staged: true})
    git('commit', '--quiet', '-m', 'one')
    const one = git('rev-parse', 'HEAD').trim()
    expect(status()).toEqual({head: one, detached: false, staged: false})
    // A change in the work tree only is not staged.
    fs.writeFileSync(join(dir, 'a.txt'), 'b\n')
    expect(status().staged).toBe(false)
    git('checkout', '--quiet', '--', 'a.txt')
    // A staged rename is two records; the record after it (the original path) is not an entry.
    git('mv', 'a.txt', '1 M. weird name.txt')
    const text = git('status', '--porcelain=v2', '--branch', '-z', '--untracked-files=no')
    expect(text).toMatch(/\0(2 R\. [^\0]*)\0a\.txt\0/u)
    expect(parseStatusV2(text)).toEqual({head: one, detached: false, staged: true})
    git('commit', '--quiet', '-m', 'two')
    git('rm', '--quiet', '1 M. weird name.txt')
    expect(status().staged).toBe(true)
    git('reset', '--quiet', '--hard')
    git('checkout', '--quiet', '--detach')
    const two = git('rev-parse', 'HEAD').trim()
    expect(status()).toEqual({head: two, detached: true, staged: false})
  })
})

describe('parseCatFileBatch', () => {
  it('splits real `git cat-file --batch` output: empty, multi-line and multibyte files, and missing ones', async () => {
    const dir = await tempDir('lora-cat-file-')
    const git = (args: string[], input?: string) =>
      execFileSync('git', args, {cwd: dir, env: {...process.env, ...GIT_ENV}, input})
    git(['init', '--quiet'])
    const files: Record<string, string> = {
      'empty.txt': '',
      'lines.txt': 'red hair, hat\nsecond line\n\n',
      'kana.txt': 'ツインテール, 猫耳, (╯°□°)╯\n',
    }
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(join(dir, name), text)
    git(['add', '.'])
    git(['commit', '--quiet', '-m', 'files'])
    const specs = ['HEAD:lines.txt', 'HEAD:missing.txt', 'HEAD:empty.txt', 'HEAD:kana.txt', 'HEAD:lines.txt']
    const out = git(['cat-file', '--batch'], specs.map((s) => s + '\n').join(''))
    expect(parseCatFileBatch(out, specs.length)).toEqual([
      files['lines.txt'],
      undefined,
      '',
      files['kana.txt'],
      files['lines.txt'],
    ])
    expect(() => parseCatFileBatch(out, specs.length + 1)).toThrow(/gave 5 answers for 6 objects/u)
  })
})
