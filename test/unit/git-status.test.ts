/**
 * parseStatusV2 (src/adapters/git.ts) on what the real `git status --porcelain=v2 --branch -z` prints: before the
 * first commit, with nothing staged, with a change, a rename (two records) and a deletion staged, untracked files, on
 * a detached HEAD.
 */
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import {join} from 'node:path'
import {parseCatFileBatch, parseStatusV2} from '../../src/adapters/git.js'
import {GIT_ENV} from '../git-helpers.js'
import {cleanupTemps, tempDir} from '../e2e/e2e-helpers.js'

afterAll(cleanupTemps)

describe('parseStatusV2', () => {
  it('reads HEAD, a detached HEAD, what is staged and every path listed from real git output', async () => {
    const dir = await tempDir('lora-status-v2-')
    const git = (...args: string[]) =>
      execFileSync('git', args, {cwd: dir, env: {...process.env, ...GIT_ENV}, encoding: 'utf8'})
    const status = (untracked = 'no') =>
      parseStatusV2(git('status', '--porcelain=v2', '--branch', '-z', `--untracked-files=${untracked}`))
    const clean = {stagedPaths: [], paths: []}
    git('init', '--quiet')
    fs.writeFileSync(join(dir, 'a.txt'), 'a\n')
    expect(status()).toEqual({head: undefined, detached: false, staged: false, ...clean})
    // Untracked files are listed with --untracked-files (`? path`), spaces and all.
    fs.writeFileSync(join(dir, 'my notes.md'), 'x\n')
    expect(status('all').paths.sort()).toEqual(['a.txt', 'my notes.md'])
    fs.rmSync(join(dir, 'my notes.md'))
    git('add', 'a.txt')
    expect(status()).toEqual({head: undefined, detached: false, staged: true, stagedPaths: ['a.txt'], paths: ['a.txt']})
    git('commit', '--quiet', '-m', 'one')
    const one = git('rev-parse', 'HEAD').trim()
    expect(status()).toEqual({head: one, detached: false, staged: false, ...clean})
    // A change in the work tree only is not staged, but listed.
    fs.writeFileSync(join(dir, 'a.txt'), 'b\n')
    expect(status()).toMatchObject({staged: false, stagedPaths: [], paths: ['a.txt']})
    git('checkout', '--quiet', '--', 'a.txt')
    // A staged rename is two records (the new path, then the original), both listed; a name that looks like a record.
    git('mv', 'a.txt', '1 M. weird name.txt')
    const text = git('status', '--porcelain=v2', '--branch', '-z', '--untracked-files=no')
    expect(text).toMatch(/\0(2 R\. [^\0]*)\0a\.txt\0/u)
    const renamed = ['1 M. weird name.txt', 'a.txt']
    expect(parseStatusV2(text)).toEqual({
      head: one,
      detached: false,
      staged: true,
      stagedPaths: renamed,
      paths: renamed,
    })
    git('commit', '--quiet', '-m', 'two')
    // A deletion in the work tree, then staged.
    fs.rmSync(join(dir, '1 M. weird name.txt'))
    expect(status()).toMatchObject({staged: false, paths: ['1 M. weird name.txt']})
    git('rm', '--quiet', '1 M. weird name.txt')
    expect(status()).toMatchObject({staged: true, stagedPaths: ['1 M. weird name.txt']})
    git('reset', '--quiet', '--hard')
    git('checkout', '--quiet', '--detach')
    const two = git('rev-parse', 'HEAD').trim()
    expect(status()).toEqual({head: two, detached: true, staged: false, ...clean})
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
