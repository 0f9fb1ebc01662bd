/**
 * What a plain reader loads at start-up, at run time (the built CLI, its bundle under the lean runner): none of the
 * Node built-ins that scripts/bundle-commands.js makes lazy (LAZY_BUILTINS: node:crypto alone costs 3 ms on Node 22)
 * while the command does not use them (once the dataset's caches are written), and still the one it uses when it does
 * (a write draws its temp names with node:crypto); nor node:tty when nothing is coloured and stdin is not asked about
 * (chalk is loaded only for coloured output). Node's own list of the built-ins a process loaded (`process.moduleLoadList`) is written at exit by a
 * preloaded script. Needs `npm run build`.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {GOOD_FIXTURES, cleanupTemps, initDataset, loraOk, tempDir} from './e2e-helpers.js'

afterAll(cleanupTemps)

/** The built-ins `args` loaded (`NativeModule <id>` entries of process.moduleLoadList). */
async function builtinsLoaded(args: string[], cwd: string): Promise<string[]> {
  const dir = await tempDir('lora-lazy-')
  const list = join(dir, 'modules.txt')
  const preload = join(dir, 'preload.cjs')
  await fsp.writeFile(
    preload,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')))\n`,
  )
  await loraOk(args, {cwd, env: {NODE_OPTIONS: `--require ${preload}`}})
  return (await fsp.readFile(list, 'utf8'))
    .split('\n')
    .filter((line) => line.startsWith('NativeModule '))
    .map((line) => line.slice('NativeModule '.length))
}

describe('start-up: lazy built-ins', () => {
  it('status --json and tags --json load neither node:crypto, node:readline, node:child_process nor node:tty; a write loads crypto', async () => {
    const ds = await initDataset({names: GOOD_FIXTURES.slice(0, 2)})
    // The first run writes the dataset's caches (config, summary): a write.
    await loraOk(['status', '--json'], {cwd: ds})
    for (const args of [
      ['status', '--json'],
      ['tags', '--json'],
    ]) {
      const loaded = await builtinsLoaded(args, ds)
      expect(loaded).toContain('fs') // the list is read
      // node:tty: neither chalk (loaded only for coloured output: its colour probe requires tty) nor isatty(0) (asked
      // only when a command wants to know whether stdin is a terminal) is reached with stdout and stderr piped.
      expect(loaded.filter((id) => ['crypto', 'readline', 'child_process', 'tty'].includes(id))).toEqual([])
    }
    expect(await builtinsLoaded(['tag', '1', '--add', 'tree'], ds)).toContain('crypto')
  })
})
