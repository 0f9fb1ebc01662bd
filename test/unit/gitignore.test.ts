/**
 * core/gitignore.ts: the `.gitignore` lines `lora init --git` suggests for files it left untracked. Each suggested
 * set is checked against the real `git check-ignore` on a temp repository, so the lines mean what they claim.
 */
import {execFileSync} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {ignoreLinesFor} from '../../src/core/gitignore.js'
import {makeTemp, removeTemp} from '../helpers.js'

describe('ignoreLinesFor', () => {
  it('one anchored line per folder and extension, the extension as written; a name without one as itself', () => {
    expect(ignoreLinesFor(['a.jpg', 'b.jpg', 'C.JPG', 'sub/d.png', 'notes', '.hidden'])).toEqual([
      '/*.JPG',
      '/*.jpg',
      '/.hidden',
      '/notes',
      '/sub/*.png',
    ])
    expect(ignoreLinesFor([])).toEqual([])
  })

  it('escapes what gitignore treats specially', () => {
    expect(ignoreLinesFor(['we[ird]*/x?.jpg', 'trailing '])).toEqual(['/trailing\\ ', '/we\\[ird]\\*/*.jpg'])
  })

  it('git ignores exactly the given files with them, not the output folder below', async () => {
    const dir = await makeTemp('lora-gitignore-')
    try {
      const files = ['a.jpg', 'B.PNG', 'sub dir/c.png', 'we[ird]*/x?.jpg', 'notes']
      const kept = ['output/img_0001.jpg', 'output/img_0001.txt', 'sub dir/keep.txt']
      for (const f of [...files, ...kept]) {
        await fsp.mkdir(join(dir, f, '..'), {recursive: true})
        await fsp.writeFile(join(dir, f), 'x')
      }
      execFileSync('git', ['init', '--quiet'], {cwd: dir})
      await fsp.writeFile(join(dir, '.gitignore'), ignoreLinesFor(files).join('\n') + '\n')
      const run = (paths: string[]) => {
        try {
          return execFileSync('git', ['check-ignore', '--no-index', '--', ...paths], {cwd: dir, encoding: 'utf8'})
        } catch (error) {
          return (error as {stdout: string}).stdout // exit 1: none ignored
        }
      }
      expect(run(files).split('\n').filter(Boolean).sort()).toEqual([...files].sort())
      expect(run(kept)).toBe('')
    } finally {
      await removeTemp(dir)
    }
  })
})
