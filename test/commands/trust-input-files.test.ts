/**
 * Issue 12, rule 1 for files named on the command line that lora reads: `lora tags import FILE` takes a regular
 * file only. A symbolic link (to a secret, or to a real tag list), a FIFO (which would block a plain open forever),
 * a device (`/dev/zero` would never end) or a folder is refused at once without being read or followed: exit 2, an
 * error naming the file and what it is, and a hint to pass the real file (for a link: its target). Nothing is
 * imported, and the dataset and the files outside it are byte-identical (sha256). The same holds for the one other
 * file lora reads on a user's say-so, a plain folder's `tags.txt` under `lora validate --rule unknown-tag`.
 * In-process; a FIFO opened this way cannot hang the test (it is opened non-blocking and refused by its type).
 */
import {execFileSync} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {cleanupTemps, snapshot, tempDir} from '../e2e/e2e-helpers.js'
import {GOOD_FIXTURES} from '../helpers.js'
import {initDataset, lora, loraJson} from './command-helpers.js'

afterAll(cleanupTemps)

/** A dataset and, beside it, a folder `elsewhere` holding a secret and a real tag list. */
async function setup(): Promise<{dir: string; elsewhere: string}> {
  const dir = await initDataset({names: GOOD_FIXTURES.slice(0, 1)})
  const elsewhere = join(await tempDir('lora-input-'), 'elsewhere')
  await fsp.mkdir(elsewhere)
  await fsp.writeFile(join(elsewhere, 'secret.txt'), 'password hunter2\n')
  await fsp.writeFile(join(elsewhere, 'tags.txt'), 'red hair\nsmile\n')
  return {dir, elsewhere}
}

/** Runs `lora tags import FILE` and checks the refusal: exit 2, the message, nothing imported or changed. */
async function expectRefused(dir: string, elsewhere: string, file: string, what: string, hint: string) {
  const before = {dataset: await snapshot(dir), elsewhere: await snapshot(elsewhere)}
  const r = await lora(['tags', 'import', file], {cwd: dir})
  expect(r.code).toBe(2)
  expect(r.stdout).toBe('')
  expect(r.stderr).toBe(
    `error: ${file} is ${what}, not a regular file; lora reads only regular files here (it does not follow links or open pipes and devices), and nothing was done.\nhint: ${hint}\n`,
  )
  expect(r.stderr).not.toContain('hunter2')
  expect({dataset: await snapshot(dir), elsewhere: await snapshot(elsewhere)}).toEqual(before)
  expect((await loraJson<{references: unknown[]}>(['tags', 'import', '--list'], {cwd: dir})).references).toEqual([])
}

describe('lora tags import FILE: a regular file only', () => {
  it('a symbolic link (to a secret, or to a real list) is not followed: exit 2, the hint names the real file', async () => {
    const {dir, elsewhere} = await setup()
    await fsp.symlink(join(elsewhere, 'secret.txt'), join(dir, 'link.txt'))
    await expectRefused(
      dir,
      elsewhere,
      'link.txt',
      'a symbolic link',
      `Pass the real file: lora tags import ${join(elsewhere, 'secret.txt')}`,
    )
    // Passing the real file, as the hint says, imports it.
    await fsp.symlink(join(elsewhere, 'tags.txt'), join(dir, 'mine.txt'))
    const r = await lora(['tags', 'import', 'mine.txt'], {cwd: dir})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`hint: Pass the real file: lora tags import ${join(elsewhere, 'tags.txt')}\n`)
    const ok = await loraJson<{tags: number; name: string}>(['tags', 'import', join(elsewhere, 'tags.txt')], {cwd: dir})
    expect(ok).toMatchObject({name: 'tags', tags: 2})
  })

  it('a FIFO is refused at once (never blocks), and so are a device and a folder', async () => {
    const {dir, elsewhere} = await setup()
    // In a folder of their own: the byte-identical check reads every file of the dataset and of `elsewhere`.
    const odd = await tempDir('lora-input-odd-')
    execFileSync('mkfifo', [join(odd, 'pipe.csv')])
    const hint = 'Pass the real file (a regular file holding the data): lora tags import FILE'
    await expectRefused(dir, elsewhere, join(odd, 'pipe.csv'), 'a FIFO (named pipe)', hint)
    await expectRefused(dir, elsewhere, '/dev/zero', 'a device file', hint)
    await fsp.mkdir(join(dir, 'folder.csv'))
    await expectRefused(dir, elsewhere, 'folder.csv', 'a folder', hint)
  })
})

describe("lora validate: a plain folder's tags.txt (--rule unknown-tag) is read only as a regular file", () => {
  it('a FIFO or a link to a secret: exit 2 naming it, never read', async () => {
    const {elsewhere} = await setup()
    const plain = join(await tempDir('lora-input-plain-'), 'train')
    await fsp.mkdir(plain)
    await fsp.copyFile(join('test', 'fixtures', 'images', GOOD_FIXTURES[0]), join(plain, 'a.jpg'))
    await fsp.writeFile(join(plain, 'a.txt'), 'red hair\n')
    for (const make of [
      () => fsp.symlink(join(elsewhere, 'secret.txt'), join(plain, 'tags.txt')),
      async () => execFileSync('mkfifo', [join(plain, 'tags.txt')]),
    ]) {
      await fsp.rm(join(plain, 'tags.txt'), {force: true})
      await make()
      const r = await lora(['validate', plain, '--rule', 'unknown-tag'], {cwd: plain})
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(
        new RegExp(
          `^error: ${join(plain, 'tags.txt').replace(/[.*+?^${}()|[\]\\/]/gu, '\\$&')} is a (symbolic link|FIFO \\(named pipe\\)), not a regular file; lora does not read through it\\.\\nhint: Replace it with a regular tags\\.txt`,
          'u',
        ),
      )
      expect(r.stdout).not.toContain('hunter2')
    }
  })
})
