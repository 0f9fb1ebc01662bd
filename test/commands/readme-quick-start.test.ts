/**
 * The README's Quick start, as written: its code block is read from README.md and run line by line on fixture
 * photos (in-process, test/in-process.ts; needs `npm run build`). `lora next` and `lora resume` wait for a person at
 * a terminal: they are replaced by the `lora tag` a script would run (the prompt itself is tested in test/e2e). A
 * README example that fails as written (an export destination inside the dataset, once) fails here.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {loraIn} from '../in-process.js'
import {copyFixtures, GOOD_FIXTURES, makeTemp, removeTemp, ROOT} from '../helpers.js'

let tmp: string
beforeAll(async () => {
  tmp = await fsp.realpath(await makeTemp('lora-quick-start-'))
})
afterAll(async () => removeTemp(tmp))

/** The shell lines of the code block that follows "To use `lora` on your own photos" in README.md, comments cut. */
function quickStart(): string[] {
  const readme = fs.readFileSync(join(ROOT, 'README.md'), 'utf8')
  const from = readme.indexOf('To use `lora` on your own photos')
  expect(from).toBeGreaterThan(0)
  const block = /```sh\n([\s\S]*?)```/u.exec(readme.slice(from))![1]
  return block
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/u, '').trim())
    .filter(Boolean)
}

describe('README Quick start', () => {
  it('runs as written, and its export writes the kohya folder outside the dataset', async () => {
    const lines = quickStart()
    expect(lines[0]).toMatch(/^lora init \.\/my-photos/u)
    await copyFixtures(join(tmp, 'my-photos'), GOOD_FIXTURES.slice(0, 3))
    let cwd = tmp
    for (const line of lines) {
      const words = line.split(/\s+/u)
      if (words[0] === 'cd') {
        cwd = resolve(cwd, words[1])
        continue
      }
      expect(words[0]).toBe('lora')
      const args = ['next', 'resume'].includes(words[1]) ? ['tag', '--all', '--add', 'smile'] : words.slice(1)
      const r = await loraIn(args, {cwd})
      expect([line, r.code, r.stderr]).toEqual([line, 0, expect.any(String)])
    }
    // --target kohya: the images under img/<repeats>_<trigger> <class>/, dataset.toml beside img/.
    expect(fs.readdirSync(join(tmp, 'train')).sort()).toEqual(['dataset.toml', 'img', 'lora-export.json'])
    expect(fs.readFileSync(join(tmp, 'train', 'dataset.toml'), 'utf8')).toContain('num_repeats = 10')
    const exported = join(tmp, 'train', 'img', '10_ohwx woman')
    expect(fs.readdirSync(exported).sort()).toEqual([
      'img_0001.jpg',
      'img_0001.txt',
      'img_0002.jpg',
      'img_0002.txt',
      'img_0003.jpg',
      'img_0003.txt',
    ])
    expect(fs.readFileSync(join(exported, 'img_0001.txt'), 'utf8')).toBe('ohwx, smile\n')
  })
})
