/**
 * Disk full and read-only storage.
 *
 * - Injected ENOSPC: `LORA_FAILPOINT=N LORA_FAILPOINT_ERROR=ENOSPC` makes the N-th and every later file mutation
 *   that needs space fail as on a full disk (src/adapters/fs.ts). For N = 1, 2, ... until a run completes, `lora
 *   init` (on real photos) and `lora tag --all` must stop with exit 1, say there is no space and give a hint, leave
 *   every original byte-identical (and every image of the dataset), and a rerun without the failure must complete
 *   and end exactly as an uninterrupted run (no leftovers).
 * - A real 2 MiB tmpfs (when the machine lets us mount one): `lora init` of photos that do not fit twice (from
 *   ../shared/data), then the tmpfs is grown (space freed) and the rerun completes; `lora tag` on a full tmpfs,
 *   then a filler file removed.
 * - A read-only output folder (a read-only bind mount; else `chattr +i`): `lora tag` and `lora init` stop with a
 *   clear error and change nothing in output/ or state.json; once writable, the dataset is consistent.
 *
 * What the machine does not allow (mounting, read-only for root) or the data that is not there is reported as
 * skipped, with the reason in the test's name.
 *
 * Fast mode: N sampled. Full mode (LORA_RELIABILITY_FULL=1): every N, 50 images for init.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {
  EVERY_N,
  FULL,
  cleanup,
  cloneDataset,
  contentSnapshot,
  diffSnapshots,
  figures,
  imageShas,
  isMountPoint,
  lora,
  loraOk,
  mode,
  putImages,
  realImages,
  restingProblems,
  sh,
  shaByName,
  snapshot,
  stableState,
  stateDiff,
  sweep,
  tempDir,
  violationsOf,
  SHARED_DATA,
  SHARED_MISSING,
  itIf,
  type PointResult,
  type RunResult,
} from './reliability-helpers.js'

const {usable, problems} = realImages(mode(6, 50), 'ENOSPC sweep of lora init')
const COUNT = usable.length
const ALL = [...usable, ...problems]
const mounts: string[] = []

function unmount(dir: string): void {
  for (let i = 0; i < 5 && isMountPoint(dir); i++) {
    if (!sh('umount', [dir]).ok) sh('umount', ['-l', dir])
  }
}

afterAll(async () => {
  for (const dir of mounts.splice(0).reverse()) {
    unmount(dir)
    sh('chattr', ['-i', dir])
  }
  await cleanup()
})

/** The clear error a full disk must give. */
function noSpaceProblems(result: RunResult, what: string): string[] {
  const out: string[] = []
  if (result.code !== 1)
    out.push(`${what}: exit ${result.code} (${result.signal ?? 'no signal'}), not 1: ${result.stderr.trim()}`)
  if (!/^error: No space left on the device\b/mu.test(result.stderr))
    out.push(`${what}: stderr does not say there is no space: ${JSON.stringify(result.stderr)}`)
  if (!/^hint: Free some space, then rerun the command\./mu.test(result.stderr))
    out.push(`${what}: no hint: ${JSON.stringify(result.stderr)}`)
  if (/\n\s+at /u.test(result.stderr)) out.push(`${what}: prints a stack trace`)
  return out
}

/** Files (and their bytes) directly in `dir`, output/ and .lora-tagger/ left out. */
/**
 * After a run that may have failed: rerun `args` when it failed (space is free again), then the dataset must equal
 * the uninterrupted reference run's (`ref`: contentSnapshot and stableState) with nothing left behind.
 */
async function rerunMatches(
  failed: boolean,
  args: string[],
  dir: string,
  ref: {content: Record<string, string>; state: unknown},
): Promise<string[]> {
  const violations: string[] = []
  if (failed) {
    const rerun = await lora(args, {cwd: dir})
    if (rerun.code !== 0) violations.push(`rerun after space is freed exited ${rerun.code}: ${rerun.stderr.trim()}`)
  }
  const changed = diffSnapshots(ref.content, await contentSnapshot(dir))
  if (changed.length > 0) violations.push(`differs from an uninterrupted run: ${changed.slice(0, 6).join(', ')}`)
  const differs = stateDiff(ref.state, await stableState(dir).catch((e) => String(e)))
  if (differs) violations.push(differs)
  violations.push(...(await restingProblems(dir)))
  return violations
}

async function originals(dir: string): Promise<Record<string, string>> {
  const snap = await snapshot(dir)
  return Object.fromEntries(
    Object.entries(snap).filter(
      ([f]) => !f.startsWith('output/') && !f.startsWith('.lora-tagger/') && f !== 'output/' && f !== '.lora-tagger/',
    ),
  )
}

describe('injected ENOSPC at every write', () => {
  it(
    '`lora init`: exit 1 saying no space, with a hint; originals byte-identical; the rerun completes as an uninterrupted run',
    async () => {
      const refDir = join(await tempDir('lora-rel-nospc-ref-'), 'imgs')
      await putImages(refDir, ALL)
      const before = await originals(refDir)
      await loraOk(['init', '.'], {cwd: refDir})
      const ref = {content: await contentSnapshot(refDir), state: await stableState(refDir)}
      const {results, completesAt} = await sweep(
        FULL ? EVERY_N : {head: 2, stride: 29, tail: 1},
        async (n): Promise<PointResult> => {
          const root = await tempDir('lora-rel-nospc-')
          const dir = join(root, 'imgs')
          await putImages(dir, ALL)
          const result = await lora(['init', '.'], {
            cwd: dir,
            env: {LORA_FAILPOINT: String(n), LORA_FAILPOINT_ERROR: 'ENOSPC'},
          })
          const failed = result.code !== 0
          const violations = failed ? noSpaceProblems(result, `init with ENOSPC from write ${n}`) : []
          const after = diffSnapshots(before, await originals(dir))
          if (after.length > 0) violations.push(`originals changed: ${after.join(', ')}`)
          violations.push(...(await rerunMatches(failed, ['init', '.'], dir, ref)))
          await fsp.rm(root, {recursive: true, force: true})
          return {n, killed: failed, violations}
        },
      )
      const found = violationsOf(results)
      figures('ENOSPC injected in lora init', {
        images: COUNT,
        'first completing N': completesAt,
        'N run': results.length,
        'failed cleanly': results.filter((r) => r.killed && r.violations.length === 0).length,
        violations: found.length,
      })
      expect(results[0]).toMatchObject({n: 1, killed: true})
      expect(completesAt).toBeGreaterThan(COUNT * 4)
      for (const r of results) expect({n: r.n, failed: r.killed}).toEqual({n: r.n, failed: r.n < completesAt})
      expect(found).toEqual([])
    },
    mode(120_000, 3 * 3_600_000),
  )

  it(
    '`lora tag --all --add x`: exit 1 saying no space, with a hint; images untouched; the rerun completes as an uninterrupted run',
    async () => {
      const template = join(await tempDir('lora-rel-nospc-tpl-'), 'imgs')
      await putImages(template, usable)
      await loraOk(['init', '.'], {cwd: template})
      await loraOk(['tag', '--stdin'], {cwd: template, input: '1\ta, b\n2\tc\n'})
      const imagesBefore = await imageShas(join(template, 'output'))
      const refDir = await cloneDataset(template)
      await loraOk(['tag', '--all', '--add', 'x'], {cwd: refDir})
      const ref = {content: await contentSnapshot(refDir), state: await stableState(refDir)}
      const {results, completesAt} = await sweep(
        FULL ? EVERY_N : {head: 2, stride: 19, tail: 1},
        async (n): Promise<PointResult> => {
          const dir = await cloneDataset(template)
          const result = await lora(['tag', '--all', '--add', 'x'], {
            cwd: dir,
            env: {LORA_FAILPOINT: String(n), LORA_FAILPOINT_ERROR: 'ENOSPC'},
          })
          const failed = result.code !== 0
          const violations = failed ? noSpaceProblems(result, `tag with ENOSPC from write ${n}`) : []
          if (JSON.stringify(await imageShas(join(dir, 'output'))) !== JSON.stringify(imagesBefore))
            violations.push('images changed')
          violations.push(...(await rerunMatches(failed, ['tag', '--all', '--add', 'x'], dir, ref)))
          await fsp.rm(join(dir, '..'), {recursive: true, force: true})
          return {n, killed: failed, violations}
        },
      )
      const found = violationsOf(results)
      figures('ENOSPC injected in lora tag', {
        images: COUNT,
        'first completing N': completesAt,
        'N run': results.length,
        'failed cleanly': results.filter((r) => r.killed && r.violations.length === 0).length,
        violations: found.length,
      })
      expect(results[0]).toMatchObject({n: 1, killed: true})
      expect(completesAt).toBeGreaterThan(COUNT)
      for (const r of results) expect({n: r.n, failed: r.killed}).toEqual({n: r.n, failed: r.n < completesAt})
      expect(found).toEqual([])
    },
    mode(120_000, 3_600_000),
  )
})

/**
 * What this machine does not allow, probed once when the tests are collected (undefined when it does): mounting a
 * small tmpfs, and making a folder read-only for root (a read-only bind mount, else `chattr +i`; `chmod -w` alone
 * would not stop root). The tests that need them are reported as skipped, with this reason, when it is not allowed.
 */
function probe(what: 'tmpfs' | 'read-only'): string | undefined {
  const dir = fs.mkdtempSync(join(tmpdir(), 'lora-rel-probe-'))
  try {
    if (what === 'tmpfs') {
      const r = sh('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir])
      if (r.ok) unmount(dir)
      return r.ok ? undefined : `cannot mount a small tmpfs here (\`mount -t tmpfs -o size=1m tmpfs DIR\`: ${r.out})`
    }
    const how = makeReadOnly(dir)
    makeWritable(dir)
    return how
      ? undefined
      : 'cannot make a folder read-only for root here (neither a read-only bind mount nor chattr +i works)'
  } finally {
    fs.rmSync(dir, {recursive: true, force: true})
  }
}

/** Mounts a tmpfs of `size` at a new temp folder (unmounted by afterAll). */
async function smallTmpfs(size: string): Promise<string> {
  const dir = join(await tempDir('lora-rel-tmpfs-'), 'mnt')
  await fsp.mkdir(dir)
  const r = sh('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  if (!r.ok) throw new Error(`\`mount -t tmpfs -o size=${size} tmpfs DIR\` failed (the probe had succeeded): ${r.out}`)
  mounts.push(dir)
  return dir
}

describe('a real 2 MiB tmpfs', () => {
  const noTmpfs = probe('tmpfs')
  // Four 1280×1024 photos of ../shared/data: they do not fit in 2 MiB twice (the fixture images all would).
  const photos = [
    'plasma-Kite-1280x1024.jpg',
    'plasma-DarkestHour-1280x1024.jpg',
    'plasma-PastelHills-1280x1024.jpg',
    'plasma-Grey-1280x1024.jpg',
  ].map((n) => ({from: join(SHARED_DATA, 'photos', n), name: n}))

  itIf(
    noTmpfs ?? (SHARED_MISSING || undefined),
    '`lora init` that runs out of space: clear error, originals byte-identical; after space is freed the rerun completes',
    async () => {
      const mnt = await smallTmpfs('2m')
      try {
        const dir = join(mnt, 'imgs')
        await putImages(dir, photos)
        const shas = await shaByName(photos)
        const before = await originals(dir)
        const result = await lora(['init', '.'], {cwd: dir})
        expect(noSpaceProblems(result, 'init on a full tmpfs')).toEqual([])
        expect(diffSnapshots(before, await originals(dir))).toEqual([])
        // Free space: grow the file system.
        expect(sh('mount', ['-o', 'remount,size=16m', mnt])).toMatchObject({ok: true})
        await loraOk(['init', '.'], {cwd: dir})
        expect(diffSnapshots(before, await originals(dir))).toEqual([])
        expect(await imageShas(join(dir, 'output'))).toEqual([...shas.values()].sort())
        expect(await restingProblems(dir)).toEqual([])
        figures('real tmpfs: init out of space', {
          images: photos.length,
          'first run exit': String(result.code),
          'after freeing': 'completed',
        })
      } finally {
        unmount(mnt)
      }
    },
    60_000,
  )

  itIf(
    noTmpfs,
    '`lora tag` on a full tmpfs: clear error, nothing lost; after a filler file is removed the rerun completes',
    async () => {
      const mnt = await smallTmpfs('2m')
      try {
        const dir = join(mnt, 'imgs')
        await putImages(
          dir,
          usable.slice(0, 3).filter((i) => !/gnome|1280|2560/u.test(i.name)),
        )
        await loraOk(['init', '.'], {cwd: dir})
        const images = await imageShas(join(dir, 'output'))
        // Fill the file system to the last byte.
        const filler = join(mnt, 'filler')
        const fill = await fsp.open(filler, 'w')
        const chunk = Buffer.alloc(4096, 1)
        try {
          for (;;) await fill.write(chunk)
        } catch (error) {
          expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC')
        }
        for (;;) {
          try {
            await fill.write(Buffer.alloc(1))
          } catch {
            break
          }
        }
        await fill.close()
        const result = await lora(['tag', '1', '--add', 'red hair'], {cwd: dir})
        expect(noSpaceProblems(result, 'tag on a full tmpfs')).toEqual([])
        expect(await imageShas(join(dir, 'output'))).toEqual(images)
        await fsp.rm(filler)
        await loraOk(['tag', '1', '--add', 'red hair'], {cwd: dir})
        expect(await fsp.readFile(join(dir, 'output', 'img_0001.txt'), 'utf8')).toBe('red hair\n')
        expect(await restingProblems(dir)).toEqual([])
        figures('real tmpfs: tag on a full disk', {'first run exit': String(result.code), 'after freeing': 'completed'})
      } finally {
        unmount(mnt)
      }
    },
    60_000,
  )
})

/**
 * Makes `dir` read-only for root too: a read-only bind mount of it on itself, else `chattr +i`. Returns how, or
 * undefined (after printing why) when neither works. `chmod -w` alone would not stop root.
 */
function makeReadOnly(dir: string): string | undefined {
  const bind = sh('mount', ['--bind', dir, dir])
  if (bind.ok) {
    mounts.push(dir)
    const ro = sh('mount', ['-o', 'remount,bind,ro', dir])
    if (ro.ok) return 'read-only bind mount'
    unmount(dir)
  }
  const attr = sh('chattr', ['+i', dir])
  if (attr.ok) {
    mounts.push(dir)
    return 'chattr +i'
  }
  return undefined
}

function makeWritable(dir: string): void {
  unmount(dir)
  sh('chattr', ['-i', dir])
  const i = mounts.indexOf(dir)
  if (i >= 0) mounts.splice(i, 1)
}

describe('a read-only output folder', () => {
  const noReadOnly = probe('read-only')
  const cases: [string, string[]][] = [
    ['tag', ['tag', '1', '--add', 'red hair']],
    ['init (a new image)', ['init', '.']],
  ]
  for (const [what, args] of cases)
    itIf(
      noReadOnly,
      `\`lora ${what}\`: a clear error, nothing changed; once writable again the dataset is consistent`,
      async () => {
        const dir = join(await tempDir('lora-rel-ro-'), 'imgs')
        await putImages(dir, usable.slice(0, 3))
        await loraOk(['init', '.'], {cwd: dir})
        if (args[0] === 'init') await putImages(dir, [usable[3]])
        const output = join(dir, 'output')
        const before = {
          output: await snapshot(output),
          state: await fsp.readFile(join(dir, '.lora-tagger', 'state.json'), 'utf8'),
          originals: await originals(dir),
        }
        await fsp.chmod(output, 0o555)
        const how = makeReadOnly(output)
        if (!how) throw new Error('could not make output/ read-only (the probe had succeeded)')
        let result: RunResult
        try {
          result = await lora(args, {cwd: dir})
        } finally {
          makeWritable(output)
          await fsp.chmod(output, 0o755)
        }
        const clear =
          how === 'chattr +i'
            ? /^error: (Permission denied|The file system is read-only)\b/mu
            : /^error: The file system is read-only\b/mu
        expect({
          code: result.code,
          clear: clear.test(result.stderr),
          hint: /^hint: \S/mu.test(result.stderr),
          stack: /\n\s+at /u.test(result.stderr),
          stderr: result.stderr,
        }).toEqual({code: 1, clear: true, hint: true, stack: false, stderr: expect.any(String)})
        expect(diffSnapshots(before.output, await snapshot(output))).toEqual([])
        expect(await fsp.readFile(join(dir, '.lora-tagger', 'state.json'), 'utf8')).toBe(before.state)
        expect(diffSnapshots(before.originals, await originals(dir))).toEqual([])
        const pending = await fsp.stat(join(dir, '.lora-tagger', 'journal.json')).then(
          () => true,
          () => false,
        )
        // Once writable: any command finishes (or finds no) pending change, and the dataset is whole.
        await loraOk(['status'], {cwd: dir})
        expect(await restingProblems(dir)).toEqual([])
        figures(`read-only output folder: lora ${args[0]}`, {
          how,
          exit: String(result.code),
          'journal kept for the next command': String(pending),
        })
      },
    )
})
