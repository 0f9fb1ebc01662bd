/**
 * The fs adapter's removeTempFiles: what killed processes left (`.lora-tmp-<pid>-…` files and folders, a folder
 * with everything in it) is removed; a live process's is kept; a link is removed, never followed; nothing else in
 * the folder, and nothing outside it, is touched.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {removeTempFiles} from '../../src/adapters/fs.js'
import {deadPid} from '../e2e/e2e-helpers.js'
import {makeTemp, removeTemp} from '../helpers.js'

let tmp: string
beforeEach(async () => {
  tmp = await makeTemp('lora-rtf-')
})
afterEach(() => removeTemp(tmp))

const listing = async (dir: string): Promise<string[]> => (await fsp.readdir(dir, {recursive: true})).map(String).sort()

describe('removeTempFiles', () => {
  it("removes a dead process's temp files and folders (recursively), keeps a live one's and everything else", async () => {
    const dead = await deadPid()
    const dir = join(tmp, '.lora-tagger')
    const outside = join(tmp, 'outside')
    await fsp.mkdir(join(outside, 'keep'), {recursive: true})
    await fsp.writeFile(join(outside, 'keep', 'precious.txt'), 'mine')
    await fsp.mkdir(join(dir, `.lora-tmp-${dead}-0a0a0a0a0-copy`, 'nested'), {recursive: true})
    await fsp.writeFile(join(dir, `.lora-tmp-${dead}-0a0a0a0a0-copy`, 'nested', 'weights.bin'), 'x')
    // A link inside a dead folder, pointing outside: removed with the folder, its target untouched.
    await fsp.symlink(join(outside, 'keep'), join(dir, `.lora-tmp-${dead}-0a0a0a0a0-copy`, 'out'))
    await fsp.writeFile(join(dir, `.lora-tmp-${dead}-0b0b0b0b0-state.json`), 'partial')
    // A link named as a dead temp, pointing at a folder outside: the link goes, the folder stays.
    await fsp.symlink(join(outside, 'keep'), join(dir, `.lora-tmp-${dead}-0c0c0c0c0-link`))
    // This process's (alive) and pid 1's: kept.
    await fsp.mkdir(join(dir, `.lora-tmp-${process.pid}-0d0d0d0d0-copy`))
    await fsp.writeFile(join(dir, `.lora-tmp-1-0e0e0e0e0-state.json`), 'init')
    await fsp.writeFile(join(dir, 'state.json'), '{}')
    await fsp.writeFile(join(dir, `lora-tmp-${dead}-no-dot.txt`), 'not ours')

    expect(await removeTempFiles(dir)).toBe(3)
    expect(await listing(dir)).toEqual(
      [
        `.lora-tmp-${process.pid}-0d0d0d0d0-copy`,
        '.lora-tmp-1-0e0e0e0e0-state.json',
        `lora-tmp-${dead}-no-dot.txt`,
        'state.json',
      ].sort(),
    )
    expect(await listing(outside)).toEqual(['keep', 'keep/precious.txt'])
    expect(await fsp.readFile(join(outside, 'keep', 'precious.txt'), 'utf8')).toBe('mine')
  })

  it('gives 0 for a folder that is not there', async () => {
    expect(await removeTempFiles(join(tmp, 'absent'))).toBe(0)
  })
})
