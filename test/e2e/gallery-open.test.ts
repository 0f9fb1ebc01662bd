/**
 * `lora gallery --open` (issue 17): the page is handed to the system opener (the `open` package's xdg-open), which
 * outlives lora: a process test. With no desktop (no DISPLAY, WAYLAND_DISPLAY or XDG_CURRENT_DESKTOP), xdg-open
 * runs the browser $BROWSER names; a stand-in records what it was asked to open. Needs `npm run build`.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {GOOD_FIXTURES, cleanupTemps, initDataset, loraOk, tempDir} from './e2e-helpers.js'

afterAll(cleanupTemps)

it('--open hands the page to the system opener, after writing it', async () => {
  const root = await initDataset({names: GOOD_FIXTURES.slice(0, 2)})
  const dir = await tempDir('lora-gallery-open-')
  const seen = join(dir, 'opened.txt')
  const browser = join(dir, 'browser.sh')
  await fsp.writeFile(browser, `#!/bin/sh\nprintf '%s\\n' "$@" > '${seen}.tmp' && mv '${seen}.tmp' '${seen}'\n`, {
    mode: 0o755,
  })
  const result = await loraOk(['gallery', '--open'], {
    cwd: root,
    env: {BROWSER: browser, DISPLAY: undefined, WAYLAND_DISPLAY: undefined, XDG_CURRENT_DESKTOP: undefined},
  })
  const page = join(await fsp.realpath(root), '.lora-tagger', 'gallery', 'index.html')
  expect(result.stdout).toBe(`${page}\n`)
  // The opener runs on its own, after lora has exited: wait (at most 10 s) for the stand-in to have run.
  for (let i = 0; i < 200 && !(await fsp.stat(seen).catch(() => undefined)); i++)
    await new Promise((done) => setTimeout(done, 50))
  expect(await fsp.readFile(seen, 'utf8')).toBe(`${page}\n`)
})
