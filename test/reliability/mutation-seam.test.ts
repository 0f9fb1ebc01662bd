/**
 * Every file `lora` writes goes through the fs adapter's seam (src/adapters/fs.ts `mutation()`), which the
 * failpoint sweeps rely on: a write that bypasses it is a write no kill test ever interrupts.
 *
 * How: each writing command (and each read command that writes caches, recovers a journal or reclaims a lock)
 * runs (in-process, test/in-process.ts: the built commands of dist/, the same adapter) with
 * `LORA_MUTATION_LOG=<file>`, which makes the adapter append one JSON line per
 * mutation (`{n, pid, op, path, to?}`). The whole temp folder is snapshotted before and after (every path with
 * its kind, inode, mtime in ns and size, by lstat); every path created, changed or removed must be named by a
 * logged mutation: its `path` or rename target `to` (or a folder renamed to a folder above it), a `mkdir` of it or of a folder below it (mkdir -p), or an
 * `rmtree` of it or of a folder above it. Folders whose only change is their mtime (an entry was added or removed)
 * are not changes of their own.
 *
 * Git is a program, not our file system: everything under a `.git/` folder is left out, and for `lora undo` the
 * files of the reverted commit (which `git revert` writes into the work tree) are accounted for by git.
 *
 * A static check completes it: `node:fs` is imported only in src/adapters/.
 */
import {execFile} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join, relative} from 'node:path'
import {
  cleanupTemps,
  copyFixtures,
  deadPid,
  GOOD_FIXTURES,
  lora,
  type RunResult,
  TRUNCATED,
  tempDir,
} from '../e2e/e2e-helpers.js'
import {cleanEnv, ROOT} from '../helpers.js'
import {GIT_ENV} from '../git-helpers.js'
import {loraIn, loraInOk as loraOk} from '../in-process.js'

afterAll(async () => {
  await cleanupTemps()
})

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, {cwd, env: {...cleanEnv(), ...GIT_ENV}, encoding: 'utf8'}, (error, stdout, stderr) => {
      if (error) reject(new Error(`git ${args.join(' ')}: ${stderr}`))
      else resolve(stdout)
    })
  })
}

/** One path in a snapshot. */
interface Entry {
  kind: 'file' | 'dir' | 'symlink' | 'other'
  ino: bigint
  mtimeNs: bigint
  size: bigint
}

/** Every path below `root` (absolute), by lstat, leaving out `.git/` folders. */
async function tree(root: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>()
  async function walk(dir: string): Promise<void> {
    for (const name of await fsp.readdir(dir)) {
      if (name === '.git') continue
      const path = join(dir, name)
      const st = await fsp.lstat(path, {bigint: true})
      const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other'
      out.set(path, {kind, ino: st.ino, mtimeNs: st.mtimeNs, size: st.size})
      if (kind === 'dir') await walk(path)
    }
  }
  await walk(root)
  return out
}

/** A line of the adapter's mutation log. */
interface Mutation {
  n: number
  pid: number
  op: string
  path: string
  to?: string
}

async function readLog(file: string): Promise<Mutation[]> {
  const text = await fsp.readFile(file, 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Mutation)
}

/** What changed between two snapshots: `created <path>`, `removed <path>`, `changed <path>`. */
function changes(
  before: Map<string, Entry>,
  after: Map<string, Entry>,
): {what: 'created' | 'removed' | 'changed'; path: string; kind: Entry['kind']}[] {
  const out: {what: 'created' | 'removed' | 'changed'; path: string; kind: Entry['kind']}[] = []
  for (const [path, b] of before) {
    const a = after.get(path)
    if (!a) out.push({what: 'removed', path, kind: b.kind})
    else if (a.kind !== b.kind) out.push({what: 'changed', path, kind: a.kind})
    // A folder's mtime moves with its entries; those entries are checked on their own.
    else if (a.kind !== 'dir' && (a.ino !== b.ino || a.mtimeNs !== b.mtimeNs || a.size !== b.size))
      out.push({what: 'changed', path, kind: a.kind})
  }
  for (const [path, a] of after) if (!before.has(path)) out.push({what: 'created', path, kind: a.kind})
  return out
}

/** True when a logged mutation accounts for this change. */
function accounted(change: {what: string; path: string; kind: Entry['kind']}, log: readonly Mutation[]): boolean {
  const {path} = change
  return log.some(
    (m) =>
      m.path === path ||
      m.to === path ||
      // A folder renamed into place (a staging folder) brings the paths below it.
      (m.op === 'rename' && m.to !== undefined && path.startsWith(m.to + '/')) ||
      (m.op === 'mkdir' && change.what === 'created' && change.kind === 'dir' && m.path.startsWith(path + '/')) ||
      (m.op === 'rmtree' && change.what === 'removed' && path.startsWith(m.path + '/')),
  )
}

/** A prepared world for one case: `world` (snapshotted), the dataset folder `dir` inside it. */
interface World {
  world: string
  dir: string
}

interface Case {
  name: string
  /** Prepares the world (not logged, before the snapshot). */
  setup: (w: World) => Promise<void>
  args: string[] | ((w: World) => string[])
  /** Expected exit code (default 0). */
  code?: number
  /** Mutation ops the log must contain (proves that path went through the seam at all). */
  ops?: string[]
  /** The command must leave the world as it found it (a refusal); by default it must change something. */
  unchanged?: boolean
  /** Standard input of the command. */
  input?: string
  /** Paths written by git (not by lora's file system calls), absolute; default none. */
  gitWrites?: (w: World, result: RunResult) => Promise<string[]>
}

const IMAGES = GOOD_FIXTURES.slice(0, 4)

let template: string
let gitTemplate: string

beforeAll(async () => {
  // A plain dataset with two tagged images, and the same with history in git.
  template = join(await tempDir('lora-seam-'), 'imgs')
  await copyFixtures(template, IMAGES)
  await loraOk(['init', '.'], {cwd: template})
  await loraOk(['tag', '1', '--add', 'red_hair, smile'], {cwd: template})
  await loraOk(['tag', '2', '--add', 'red_hair, hat'], {cwd: template})
  gitTemplate = join(await tempDir('lora-seam-git-'), 'imgs')
  await fsp.cp(template, gitTemplate, {recursive: true})
  await loraOk(['git', 'enable'], {cwd: gitTemplate, env: GIT_ENV})
  await loraOk(['tag', '3', '--add', 'blue sky'], {cwd: gitTemplate, env: GIT_ENV})
}, 120_000)

/** A fresh world holding a copy of `from` (the plain template by default) as `imgs/`. */
async function world(from?: string): Promise<World> {
  const w = await tempDir('lora-seam-case-')
  const dir = join(w, 'imgs')
  if (from) await fsp.cp(from, dir, {recursive: true})
  return {world: w, dir}
}

/** A world with images and no dataset yet. */
const freshImages = async ({dir}: World): Promise<void> => {
  await copyFixtures(dir, IMAGES)
}

const CASES: Case[] = [
  {name: 'init (copy)', setup: freshImages, args: ['init', '.']},
  {name: 'init --move', setup: freshImages, args: ['init', '.', '--move']},
  {name: 'init --link', setup: freshImages, args: ['init', '.', '--link']},
  {name: 'init --git', setup: freshImages, args: ['init', '.', '--git']},
  {
    name: 'init rerun adding an image',
    setup: async ({dir}) => {
      await copyFixtures(dir, [GOOD_FIXTURES[5]])
    },
    args: ['init', '.'],
  },
  {
    // Refused after .lora-tagger/ was made and locked: the folder is removed again, through the seam.
    name: 'init --strict refused (a problem file)',
    setup: async ({dir}) => {
      await copyFixtures(dir, [...IMAGES, TRUNCATED])
    },
    args: ['init', '.', '--strict'],
    code: 1,
    ops: ['mkdir', 'rmtree'],
    unchanged: true,
  },
  {name: 'tag --add', setup: async () => {}, args: ['tag', '1', '--add', 'blue eyes']},
  {name: 'tag --all --remove', setup: async () => {}, args: ['tag', '--all', '--remove', 'red_hair']},
  {name: 'tag --skip', setup: async () => {}, args: ['tag', '4', '--skip']},
  {
    name: 'tag --stdin',
    setup: async () => {},
    args: ['tag', '--stdin'],
    input: 'img_0001\tcat, sitting\nimg_0002\tdog\n',
  },
  {name: 'tags rename', setup: async () => {}, args: ['tags', 'rename', 'red_hair', 'auburn hair']},
  {name: 'tags rm', setup: async () => {}, args: ['tags', 'rm', 'hat']},
  {name: 'tags add', setup: async () => {}, args: ['tags', 'add', 'sunset', 'beach']},
  {
    name: 'tags normalize',
    setup: async ({dir}) => {
      const config = join(dir, '.lora-tagger', 'config.yaml')
      await fsp.writeFile(config, (await fsp.readFile(config, 'utf8')).replace('tagStyle: keep', 'tagStyle: spaces'))
    },
    args: ['tags', 'normalize'],
  },
  {
    name: 'tags import',
    setup: async () => {},
    args: ['tags', 'import', join(ROOT, 'test', 'fixtures', 'vocab', 'danbooru-excerpt.csv')],
  },
  {
    name: 'tags import --remove',
    setup: async ({dir}) => {
      await loraOk(
        ['tags', 'import', join(ROOT, 'test', 'fixtures', 'vocab', 'danbooru-excerpt.csv'), '--name', 'dan'],
        {cwd: dir},
      )
    },
    args: ['tags', 'import', '--remove', 'dan'],
  },
  {
    name: 'status --rescan (a caption edited by hand)',
    setup: async ({dir}) => {
      await fsp.writeFile(join(dir, 'output', 'img_0004.txt'), 'edited, by hand\n')
    },
    args: ['status', '--rescan'],
  },
  {
    name: 'status (cache rebuilt)',
    setup: async ({dir}) => {
      await fsp.rm(join(dir, '.lora-tagger', 'cache'), {recursive: true, force: true})
    },
    args: ['status'],
  },
  {name: 'next --print', setup: async () => {}, args: ['next', '--print']},
  {
    name: 'export --format folder --repeats',
    setup: async () => {},
    args: ({world: w}) => ['export', join(w, 'train'), '--format', 'folder', '--repeats', '10', '--class', 'woman'],
  },
  {
    name: 'export --format folder --force (over an earlier export)',
    setup: async ({world: w, dir}) => {
      await loraOk(['export', join(w, 'train'), '--format', 'folder'], {cwd: dir})
      await loraOk(['tag', '1', '--add', 'later'], {cwd: dir})
    },
    args: ({world: w}) => ['export', join(w, 'train'), '--format', 'folder', '--force'],
  },
  {
    name: 'export --target kohya --max-side (copies and re-encodes, configs, lora-export.json)',
    setup: async () => {},
    args: ({world: w}) => ['export', join(w, 'train'), '--target', 'kohya', '--class', 'woman', '--max-side', '200'],
  },
  {
    name: 'export --target ai-toolkit --force (over an earlier target export)',
    setup: async ({world: w, dir}) => {
      await loraOk(['export', join(w, 'train'), '--target', 'ai-toolkit'], {cwd: dir})
      await loraOk(['tag', '1', '--add', 'later'], {cwd: dir})
    },
    args: ({world: w}) => ['export', join(w, 'train'), '--target', 'ai-toolkit', '--force', '--convert', 'jpg'],
  },
  {
    name: 'export --target civitai (staging folder, then a zip)',
    setup: async () => {},
    args: ({world: w}) => ['export', join(w, 'up.zip'), '--target', 'civitai'],
  },
  {
    name: 'export --format csv',
    setup: async () => {},
    args: ({world: w}) => ['export', join(w, 'out', 'records.csv'), '--format', 'csv'],
  },
  {name: 'gallery (default folder)', setup: async () => {}, args: ['gallery']},
  {
    name: 'gallery again after a change (one thumbnail made, the page replaced)',
    setup: async ({dir}) => {
      await loraOk(['gallery', '--thumb-size', '64'], {cwd: dir})
      await fsp.copyFile(join(dir, 'output', 'img_0002.jpg'), join(dir, 'output', 'img_0001.jpg'))
    },
    args: ['gallery', '--thumb-size', '64'],
  },
  {
    name: 'gallery outside the dataset, another thumbnail size (old ones removed)',
    setup: async ({world: w, dir}) => {
      await loraOk(['gallery', join(w, 'page'), '--thumb-size', '64'], {cwd: dir})
    },
    args: ({world: w}) => ['gallery', join(w, 'page'), '--thumb-size', '96'],
  },
  {
    name: 'a stale lock reclaimed, and temp files of a dead process removed',
    setup: async ({dir}) => {
      const pid = await deadPid()
      const meta = join(dir, '.lora-tagger')
      await fsp.writeFile(
        join(meta, 'lock'),
        JSON.stringify({
          pid,
          host: (await import('node:os')).hostname(),
          command: 'lora tag',
          since: new Date().toISOString(),
        }) + '\n',
      )
      await fsp.writeFile(join(meta, `.lora-tmp-${pid}-deadbeef0-state.json`), 'partial')
      await fsp.writeFile(join(dir, 'output', `.lora-tmp-${pid}-deadbeef1-img_0001.txt`), 'partial')
    },
    args: ['tag', '2', '--add', 'x'],
    ops: ['rename', 'unlink'],
  },
  {
    name: 'an interrupted change finished by the next command',
    setup: async ({dir}) => {
      // Find the mutation that puts the journal in place (on a scratch copy), then kill just after it.
      const scratch = `${dir}-scratch`
      await fsp.cp(dir, scratch, {recursive: true})
      const log = `${scratch}.jsonl`
      await loraOk(['tag', '--all', '--add', 'y'], {cwd: scratch, env: {LORA_MUTATION_LOG: log}})
      // The log holds this run's mutations only, in order: the journal's is the (index + 1)-th. (`n` counts from the
      // test process's first in-process run, not from this one.)
      const journaled = (await readLog(log)).findIndex(
        (m) => m.op === 'rename' && m.to === join(scratch, '.lora-tagger', 'journal.json'),
      )
      await fsp.rm(scratch, {recursive: true})
      await fsp.rm(log)
      if (journaled < 0) throw new Error('`lora tag --all` wrote no journal')
      const killed = await lora(['tag', '--all', '--add', 'y'], {
        cwd: dir,
        env: {LORA_FAILPOINT: String(journaled + 2)},
      })
      expect({signal: killed.signal, journal: fs.existsSync(join(dir, '.lora-tagger', 'journal.json'))}).toEqual({
        signal: 'SIGKILL',
        journal: true,
      })
    },
    args: ['status'],
  },
  {name: 'git enable', setup: async () => {}, args: ['git', 'enable']},
  {name: 'curate (measures cache and summary)', setup: async () => {}, args: ['curate']},
  {
    name: 'curate --apply --rule low-resolution',
    setup: async () => {},
    args: ['curate', '--apply', '--rule', 'low-resolution'],
  },
  {
    name: 'tag --unskip',
    setup: async ({dir}) => void (await loraOk(['tag', '4', '--skip'], {cwd: dir})),
    args: ['tag', '4', '--unskip'],
  },
  {
    name: 'undo',
    setup: async () => {},
    args: ['undo', '--json'],
    gitWrites: async ({dir}, result) => {
      const {reverted} = JSON.parse(result.stdout) as {reverted: string}
      const top = (await git(dir, ['rev-parse', '--show-toplevel'])).trim()
      return (await git(dir, ['diff', '--name-only', `${reverted}~1`, reverted]))
        .split('\n')
        .filter(Boolean)
        .map((p) => join(top, p))
    },
  },
]

/** The template a case starts from: none for init on fresh images, git for git cases, else the plain one. */
function templateFor(c: Case): string | undefined {
  if (c.setup === freshImages || c.name.startsWith('init --strict')) return undefined
  return c.name === 'undo' ? gitTemplate : template
}

describe('every file a command writes goes through the fs adapter (LORA_MUTATION_LOG accounts for each change)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const w = await world(templateFor(c))
    await c.setup(w)
    // The log lives beside the world, not in it.
    const log = `${w.world}.mutations.jsonl`
    const before = await tree(w.world)
    const args = typeof c.args === 'function' ? c.args(w) : c.args
    const result = await loraIn(args, {cwd: w.dir, env: {...GIT_ENV, LORA_MUTATION_LOG: log}, input: c.input})
    expect({code: result.code, stderr: result.code === (c.code ?? 0) ? '' : result.stderr}).toEqual({
      code: c.code ?? 0,
      stderr: '',
    })
    const after = await tree(w.world)
    const mutations = await readLog(log)
    await fsp.rm(log, {force: true})
    const byGit = new Set(c.gitWrites ? await c.gitWrites(w, result) : [])
    const changed = changes(before, after)
    // Each case writes something (else it would pass without proving anything), or must not.
    if (c.unchanged) expect(changed.map((ch) => `${ch.what} ${relative(w.world, ch.path)}`)).toEqual([])
    else expect(changed.length).toBeGreaterThan(0)
    const unlogged = changed
      .filter((ch) => !byGit.has(ch.path) && !accounted(ch, mutations))
      .map((ch) => `${ch.what} ${relative(w.world, ch.path)} (${ch.kind})`)
    expect({unlogged, ops: c.ops?.filter((op) => !mutations.some((m) => m.op === op)) ?? []}).toEqual({
      unlogged: [],
      ops: [],
    })
    // The log is this command's own: nothing else (no process of its own) wrote it.
    expect([...new Set(mutations.map((m) => m.pid))].filter((pid) => pid !== process.pid)).toEqual([])
  })
})

describe('the seam is the only importer of node:fs', () => {
  it('no file under src/ outside src/adapters/ imports node:fs or fs', async () => {
    const offenders: string[] = []
    async function walk(dir: string): Promise<void> {
      for (const entry of await fsp.readdir(dir, {withFileTypes: true})) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) {
          if (path !== join(ROOT, 'src', 'adapters')) await walk(path)
        } else if (entry.name.endsWith('.ts')) {
          const text = await fsp.readFile(path, 'utf8')
          if (
            /from\s+['"](node:)?fs(\/promises)?['"]|import\(\s*['"](node:)?fs(\/promises)?['"]\s*\)|require\(\s*['"](node:)?fs/u.test(
              text,
            )
          )
            offenders.push(relative(ROOT, path))
        }
      }
    }
    await walk(join(ROOT, 'src'))
    expect(offenders).toEqual([])
  })
})
