/**
 * Issue 12, rule 5 (check before changing), for what needs a second file system: a tmpfs mounted on the dataset's
 * `output/` (as root; when mounting fails the cases print SKIP with the reason and pass).
 * - `init --link` with output/ on another file system: refused before anything (exit 2, the --copy hint), no
 *   `.lora-tagger/`, no journal for later commands to replay, the originals byte-identical; the next command finds
 *   no dataset (it does not replay anything).
 * - `init --copy` (and `--move`) across the same boundary: they work, every image byte-identical to its original.
 * - `init --move` with the originals in a read-only folder: refused before anything (they could not be removed).
 * - A read-only output folder: `lora tag` refuses before the first write, no journal left.
 * - A journal written before the cross-device check existed, whose image steps are hard links from the originals
 *   into an output/ on another file system: the replay (any command) falls back to a durable copy instead of
 *   failing with EXDEV on every command; every image is placed byte-identical, the originals stay byte-identical.
 * Each case checks the exit code, the message, and that the originals are byte-identical (sha256).
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {copyFixtures, GOOD_FIXTURES} from '../helpers.js'
import {cleanup, isMountPoint, leftovers, lora, loraOk, sh, snapshot, tempDir} from './reliability-helpers.js'

const THREE = GOOD_FIXTURES.slice(0, 3)
const mounts: string[] = []

afterAll(async () => {
  for (const dir of mounts.splice(0).reverse()) {
    for (let i = 0; i < 5 && isMountPoint(dir); i++) if (!sh('umount', [dir]).ok) sh('umount', ['-l', dir])
  }
  await cleanup()
})

/** Mounts a small tmpfs on `dir` (created); false (after printing SKIP and why) when the machine does not allow it. */
async function mountTmpfs(dir: string, what: string, options = 'size=32m'): Promise<boolean> {
  await fsp.mkdir(dir, {recursive: true})
  const r = sh('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir])
  if (!r.ok) {
    process.stderr.write(`SKIP ${what}: cannot mount a tmpfs here (${r.out || 'mount failed'})\n`)
    return false
  }
  mounts.push(dir)
  return true
}

/** A folder of three fixture images whose `output/` is a fresh tmpfs; undefined when mounting is not possible. */
async function imagesWithOutputElsewhere(what: string): Promise<string | undefined> {
  const dir = join(await tempDir('lora-rel-xdev-'), 'imgs')
  await copyFixtures(dir, THREE)
  return (await mountTmpfs(join(dir, 'output'), what)) ? dir : undefined
}

/** The originals (the image files directly in `dir`) with their sha256. */
async function originals(dir: string): Promise<Record<string, string>> {
  return Object.fromEntries(Object.entries(await snapshot(dir)).filter(([k]) => !k.includes('/') && THREE.includes(k)))
}

describe('init across file systems (output/ on a tmpfs)', () => {
  it('`init --link`: refused before anything (exit 2, use --copy), no journal left; the next command replays nothing', async () => {
    const dir = await imagesWithOutputElsewhere('init --link across file systems')
    if (!dir) return
    const before = await snapshot(dir)
    const r = await lora(['init', '.', '--link'], {cwd: dir})
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      `error: --link cannot work here: ${THREE[0]} and the output folder (${join(dir, 'output')}) are on different file systems, and a hard link cannot cross them; nothing was changed.\n` +
        'hint: Use --copy (copies the images; the originals stay) or --move, or choose an output folder on the same disk with --out.\n',
    )
    expect(await snapshot(dir)).toEqual(before)
    expect(await fsp.readdir(join(dir, 'output'))).toEqual([])
    // Nothing for the next command to finish: it finds no dataset.
    const status = await lora(['status'], {cwd: dir})
    expect(status.code).toBe(3)
    expect(status.stderr).not.toMatch(/EXDEV|unexpected/u)
  })

  it('`init --copy` and `init --move` work across file systems, every image byte-identical to its original', async () => {
    for (const mode of ['--copy', '--move']) {
      const dir = await imagesWithOutputElsewhere(`init ${mode} across file systems`)
      if (!dir) return
      const shas = Object.values(await originals(dir)).sort()
      await loraOk(['init', '.', mode], {cwd: dir})
      const placed = Object.entries(await snapshot(join(dir, 'output')))
        .filter(([k]) => k.endsWith('.jpg'))
        .map(([, v]) => v)
        .sort()
      expect(placed).toEqual(shas)
      if (mode === '--copy') expect(Object.values(await originals(dir)).sort()).toEqual(shas)
      else expect(await originals(dir)).toEqual({})
      await fsp.access(join(dir, '.lora-tagger', 'state.json'))
      await expect(fsp.access(join(dir, '.lora-tagger', 'journal.json'))).rejects.toThrow(/ENOENT/u)
      expect((await loraOk(['status', '--json'], {cwd: dir})).stdout).toMatch(/"total": 3/u)
    }
  })

  it('`init --move` with the originals on a read-only file system: refused before anything, originals untouched', async () => {
    const dir = join(await tempDir('lora-rel-rosrc-'), 'imgs')
    const src = join(dir, 'photos')
    if (!(await mountTmpfs(src, 'init --move from a read-only folder'))) return
    await copyFixtures(src, THREE)
    if (!sh('mount', ['-o', 'remount,ro', src]).ok) {
      process.stderr.write('SKIP init --move from a read-only folder: cannot remount the tmpfs read-only\n')
      return
    }
    const before = await snapshot(dir)
    const r = await lora(['init', '.', '--move', '--recursive'], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `error: --move cannot remove the originals in ${src}: read-only file system; nothing was changed.\nhint: Use --copy (the originals stay), or make that folder writable.\n`,
    )
    expect(await snapshot(dir)).toEqual(before)
    // --copy does not need to remove them.
    await loraOk(['init', '.', '--copy', '--recursive'], {cwd: dir})
    expect(await snapshot(src)).toEqual(
      Object.fromEntries(
        Object.entries(before)
          .filter(([k]) => k.startsWith('photos/') && k !== 'photos/')
          .map(([k, v]) => [k.slice('photos/'.length), v]),
      ),
    )
  })

  it('a read-only output folder: `lora tag` refuses before the first write (no journal left to replay)', async () => {
    const dir = await imagesWithOutputElsewhere('read-only output folder')
    if (!dir) return
    await loraOk(['init', '.', '--copy'], {cwd: dir})
    const output = join(dir, 'output')
    if (!sh('mount', ['-o', 'remount,ro', output]).ok) {
      process.stderr.write('SKIP read-only output folder: cannot remount the tmpfs read-only\n')
      return
    }
    const before = await snapshot(dir)
    let r
    try {
      r = await lora(['tag', '1', '--add', 'red hair'], {cwd: dir})
    } finally {
      sh('mount', ['-o', 'remount,rw', output])
    }
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `error: The file system is read-only (${output}); nothing was changed.\nhint: Make it writable (remount read-write), or work on a copy of the dataset.\n`,
    )
    expect(await snapshot(dir)).toEqual(before)
    await expect(fsp.access(join(dir, '.lora-tagger', 'journal.json'))).rejects.toThrow(/ENOENT/u)
    await loraOk(['tag', '1', '--add', 'red hair'], {cwd: dir})
  })

  it('an old journal whose image steps are cross-device hard links: the replay copies instead (no EXDEV), originals byte-identical', async () => {
    const dir = await imagesWithOutputElsewhere('replaying cross-device links')
    if (!dir) return
    const shas = await originals(dir)
    // Where `init --copy` places its first image: kill it there, so its journal is written and nothing placed yet.
    const log = join(await tempDir('lora-rel-xdev-log-'), 'mutations.jsonl')
    await loraOk(['init', '.', '--copy'], {cwd: dir, env: {LORA_MUTATION_LOG: log}})
    const mutations = (await fsp.readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as {op: string; path: string})
    // Its position in the log counts from 1 for this run (`n` counts from the test process's first in-process run).
    const firstPlace = mutations.findIndex((m) => m.op === 'copy' && m.path.startsWith(join(dir, 'output') + '/')) + 1
    expect(firstPlace).toBeGreaterThan(0)
    await fsp.rm(join(dir, '.lora-tagger'), {recursive: true})
    for (const f of await fsp.readdir(join(dir, 'output'))) await fsp.rm(join(dir, 'output', f))
    const killed = await lora(['init', '.', '--copy'], {cwd: dir, env: {LORA_FAILPOINT: String(firstPlace)}})
    expect(killed.signal).toBe('SIGKILL')
    // The journal as a lora without the cross-device check wrote it for `init --link`.
    const journalPath = join(dir, '.lora-tagger', 'journal.json')
    const journal = JSON.parse(await fsp.readFile(journalPath, 'utf8')) as {ops: {op: string; mode?: string}[]}
    const places = journal.ops.filter((op) => op.op === 'place-image')
    expect(places).toHaveLength(3)
    for (const op of places) op.mode = 'link'
    await fsp.writeFile(journalPath, JSON.stringify(journal) + '\n')

    const status = await lora(['status', '--json'], {cwd: dir})
    expect(status.stderr).not.toMatch(/EXDEV|unexpected/u)
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout).images).toMatchObject({total: 3, pending: 3})
    await expect(fsp.access(journalPath)).rejects.toThrow(/ENOENT/u)
    const placed = Object.entries(await snapshot(join(dir, 'output')))
      .filter(([k]) => /\.(jpg|png)$/u.test(k))
      .map(([, v]) => v)
      .sort()
    expect(placed).toEqual(Object.values(shas).sort())
    expect(await originals(dir)).toEqual(shas)
    expect(await leftovers(dir)).toEqual([])
  })
})
