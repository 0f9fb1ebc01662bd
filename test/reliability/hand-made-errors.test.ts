/**
 * Rule 12 of issue 12 (README "Safety model"): errors a person can cause by hand are not "unexpected". One case
 * per lora file × wrong file type or wrong shape: a caption, `tags.txt`, `output/`, `journal.json`, `state.json`,
 * `session.json`, `config.yaml` or the lock that is a folder (EISDIR) or a file where a folder belongs (ENOTDIR),
 * and journal/state/config files of the wrong shape. Each must fail with its documented exit code, name the file,
 * give a hint, and never say "unexpected" or "report it". Files whose content lora does not need (a damaged
 * session or lock, caches) are tolerated: the command succeeds. Then the system errors a person's machine can
 * raise anywhere (EACCES, EPERM, EROFS, ENOSPC, EMFILE, EIO, ENAMETOOLONG, ELOOP), injected at the first write of the
 * spawned binary (LORA_FAILPOINT_ERROR, src/adapters/fs.ts): named, with a hint, and the rerun completes.
 * In-process (test/in-process.ts) on a real dataset of fixture images, except the injected errors; needs
 * `npm run build`.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraIn, loraInOk} from '../in-process.js'
import {copyFixtures, makeTemp, removeTemp} from '../helpers.js'
import {lora} from './reliability-helpers.js'

const IMAGES = ['plasma-Autumn-screenshot.jpg', 'plasma-Kite-screenshot.jpg', 'skimage-horse.png']

const temps: string[] = []
let template: string

beforeAll(async () => {
  const tmp = await makeTemp('lora-handmade-tpl-')
  temps.push(tmp)
  template = join(tmp, 'imgs')
  await copyFixtures(template, IMAGES)
  await loraInOk(['init', '.'], {cwd: template})
  await loraInOk(['tag', '1', '--add', 'cat'], {cwd: template})
  await write(join(tmp, 'vocab.txt'), 'cat\ndog\n')
})
afterAll(async () => {
  for (const dir of temps) await removeTemp(dir)
})

async function dataset(): Promise<string> {
  const tmp = await makeTemp('lora-handmade-')
  temps.push(tmp)
  const root = join(tmp, 'imgs')
  await fsp.cp(template, root, {recursive: true})
  await fsp.copyFile(join(template, '..', 'vocab.txt'), join(tmp, 'vocab.txt'))
  return root
}

const meta = (root: string, name: string) => join(root, '.lora-tagger', name)
/** Replaces a file by a folder holding one file (so that nothing can remove it as an empty folder). */
async function folderAt(path: string): Promise<void> {
  await fsp.rm(path, {recursive: true, force: true})
  await fsp.mkdir(path, {recursive: true})
  await fsp.writeFile(join(path, 'keep'), 'x')
}
async function write(path: string, text: string): Promise<void> {
  await fsp.writeFile(path, text)
}
const journalWith = (ops: unknown) => JSON.stringify({version: 1, kind: 'tag', createdAt: '2026-01-01T00:00:00Z', ops})

interface Case {
  name: string
  setup: (root: string) => Promise<void>
  args: string[]
  code: number
  /** What the message must name (the file, and the field for a wrong shape). */
  names: string[]
}

const cases: Case[] = [
  {
    name: 'a caption that is a folder',
    setup: (r) => folderAt(join(r, 'output', 'img_0001.txt')),
    args: ['tag', '1', '--add', 'dog'],
    code: 1,
    names: ['img_0001.txt'],
  },
  {
    name: 'tags.txt that is a folder (tag)',
    setup: (r) => folderAt(join(r, 'output', 'tags.txt')),
    args: ['tag', '2', '--add', 'dog'],
    code: 1,
    names: ['tags.txt'],
  },
  {
    name: 'tags.txt that is a folder (tags)',
    setup: (r) => folderAt(join(r, 'output', 'tags.txt')),
    args: ['tags', '--unused'],
    code: 1,
    names: ['tags.txt'],
  },
  {
    name: 'output that is a file',
    setup: async (r) => {
      await fsp.rm(join(r, 'output'), {recursive: true})
      await write(join(r, 'output'), 'not a folder')
    },
    args: ['tag', '1', '--add', 'dog'],
    code: 1,
    names: ['The output folder "output" is not a folder but a regular file'],
  },
  {
    name: 'journal.json that is a folder',
    setup: (r) => folderAt(meta(r, 'journal.json')),
    args: ['status'],
    code: 1,
    names: ['journal.json'],
  },
  {
    name: 'journal.json that is not JSON',
    setup: (r) => write(meta(r, 'journal.json'), '{"version": 1, "ops": ['),
    args: ['status'],
    code: 1,
    names: ['journal.json'],
  },
  {
    name: 'journal.json that is null',
    setup: (r) => write(meta(r, 'journal.json'), 'null'),
    args: ['status'],
    code: 1,
    names: ['journal.json', 'not a JSON object'],
  },
  {
    name: 'journal.json whose ops is not a list',
    setup: (r) => write(meta(r, 'journal.json'), JSON.stringify({version: 1, kind: 'tag', ops: {}})),
    args: ['status'],
    code: 1,
    names: ['journal.json', '"ops"'],
  },
  {
    name: 'journal.json with an unknown op',
    setup: (r) => write(meta(r, 'journal.json'), journalWith([{op: 'delete', path: 'output/img_0001.jpg'}])),
    args: ['tag', '1', '--add', 'dog'],
    code: 1,
    names: ['journal.json', 'ops[0].op "delete"'],
  },
  {
    name: 'journal.json with a missing field',
    setup: (r) =>
      write(
        meta(r, 'journal.json'),
        journalWith([
          {op: 'write', path: 'output/img_0001.txt', text: 'a\n'},
          {op: 'place-image', source: 'a.jpg', target: 'output/img_0009.jpg', mode: 'copy'},
        ]),
      ),
    args: ['status'],
    code: 1,
    names: ['journal.json', 'ops[1].sha256'],
  },
  {
    name: 'journal.json op that is not an object',
    setup: (r) => write(meta(r, 'journal.json'), journalWith([42])),
    args: ['status'],
    code: 1,
    names: ['journal.json', 'ops[0]'],
  },
  {
    name: 'state.json that is a folder',
    setup: (r) => folderAt(meta(r, 'state.json')),
    args: ['status'],
    code: 1,
    names: ['state.json'],
  },
  {
    name: 'state.json that is a list',
    setup: (r) => write(meta(r, 'state.json'), '[]'),
    args: ['status'],
    code: 1,
    names: ['state.json'],
  },
  {
    name: 'state.json record whose tags are not a list',
    setup: async (r) => {
      const state = JSON.parse(await fsp.readFile(meta(r, 'state.json'), 'utf8'))
      state.images[1].tags = 'cat'
      await write(meta(r, 'state.json'), JSON.stringify(state))
    },
    args: ['status'],
    code: 1,
    names: ['state.json', 'images[1].tags'],
  },
  {
    name: 'state.json record without a file',
    setup: async (r) => {
      const state = JSON.parse(await fsp.readFile(meta(r, 'state.json'), 'utf8'))
      delete state.images[0].file
      await write(meta(r, 'state.json'), JSON.stringify(state))
    },
    args: ['tag', '2', '--add', 'dog'],
    code: 1,
    names: ['state.json', 'images[0].file'],
  },
  {
    name: 'state.json record that is not an object',
    setup: async (r) => {
      const state = JSON.parse(await fsp.readFile(meta(r, 'state.json'), 'utf8'))
      state.images[2] = null
      await write(meta(r, 'state.json'), JSON.stringify(state))
    },
    args: ['next', '--print'],
    code: 1,
    names: ['state.json', 'images[2]'],
  },
  {
    name: 'session.json that is a folder',
    setup: (r) => folderAt(meta(r, 'session.json')),
    args: ['next', '--print'],
    code: 1,
    names: ['session.json'],
  },
  {
    name: 'config.yaml that is a folder',
    setup: (r) => folderAt(meta(r, 'config.yaml')),
    args: ['status'],
    code: 1,
    names: ['config.yaml'],
  },
  {
    name: 'config.yaml that is a list',
    setup: (r) => write(meta(r, 'config.yaml'), '- a\n- b\n'),
    args: ['status'],
    code: 1,
    names: ['config.yaml'],
  },
  {
    name: 'config.yaml that is a number',
    setup: (r) => write(meta(r, 'config.yaml'), '42\n'),
    args: ['status'],
    code: 1,
    names: ['config.yaml'],
  },
  {
    name: 'config.yaml key of the wrong type',
    setup: (r) => write(meta(r, 'config.yaml'), 'prefix: [1, 2]\n'),
    args: ['status'],
    code: 1,
    names: ['config.yaml', 'prefix'],
  },
  {
    name: 'the lock that is a folder',
    setup: (r) => folderAt(meta(r, 'lock')),
    args: ['tag', '1', '--add', 'dog'],
    code: 1,
    names: ['lock'],
  },
  {
    name: 'reference/ that is a file',
    setup: (r) => write(meta(r, 'reference'), 'x'),
    args: ['tags', 'import', '../vocab.txt', '--format', 'text'],
    code: 1,
    names: ['reference is a file'],
  },
  {
    name: 'an export destination file that is a folder',
    setup: (r) => folderAt(join(r, '..', 'out.csv')),
    args: ['export', '../out.csv', '--format', 'csv', '--force'],
    code: 1,
    names: ['out.csv is a folder'],
  },
  {
    name: 'an export destination under a file',
    setup: (r) => write(join(r, '..', 'afile'), 'x'),
    args: ['export', '../afile/sub.csv', '--format', 'csv'],
    code: 1,
    names: ['afile is a file'],
  },
  {
    name: 'cache files that are folders (tolerated: derived data)',
    setup: async (r) => {
      for (const name of ['config.json', 'summary.json']) await folderAt(join(r, '.lora-tagger', 'cache', name))
    },
    args: ['status'],
    code: 0,
    names: [],
  },
  {
    name: '.lora-tagger/ whose cache is a file',
    setup: async (r) => {
      await fsp.rm(meta(r, 'cache'), {recursive: true, force: true})
      await write(meta(r, 'cache'), 'x')
      await write(meta(r, 'config.yaml'), 'prefix: img_\n')
    },
    args: ['tag', '1', '--add', 'dog'],
    code: 0,
    names: [],
  },
]

describe.each(cases)('$name', ({setup, args, code, names}) => {
  it(`lora ${args.join(' ')}: exit ${code}, names the file, gives a hint, never "unexpected"`, async () => {
    const root = await dataset()
    await setup(root)
    const result = await loraIn(args, {cwd: root})
    expect(result.stderr).not.toMatch(/this was unexpected|report it/iu)
    expect(result.code).toBe(code)
    if (code !== 0) {
      expect(result.stderr).toMatch(/^error: .+\nhint: .+/mu)
      for (const name of names) expect(result.stderr).toContain(name)
    }
  })
})

describe('damaged files lora can do without are tolerated', () => {
  it('a session.json of the wrong shape starts a fresh session', async () => {
    const root = await dataset()
    await write(meta(root, 'session.json'), '[1, 2]')
    const result = await loraIn(['next', '--print'], {cwd: root})
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^img_0002\t/u)
  })

  it('a lock holding garbage is reclaimed as stale', async () => {
    const root = await dataset()
    await write(meta(root, 'lock'), '["not", "a", "lock"]')
    await loraInOk(['tag', '2', '--add', 'dog'], {cwd: root})
    await expect(fsp.stat(meta(root, 'lock'))).rejects.toMatchObject({code: 'ENOENT'})
  })
})

describe('system errors anywhere (injected at the first write: LORA_FAILPOINT_ERROR, spawned binary)', () => {
  it.each([
    ['EACCES', 'Permission denied'],
    ['EPERM', 'Permission denied'],
    ['EROFS', 'The file system is read-only'],
    ['ENOSPC', 'No space left on the device'],
    ['EMFILE', 'Too many open files'],
    ['EIO', 'Input/output error'],
    ['ENAMETOOLONG', 'A file name is too long'],
    ['ELOOP', 'Too many levels of symbolic links'],
  ])('%s during `lora tag`: exit 1, names the file, a hint, nothing lost; the rerun completes', async (code, says) => {
    const root = await dataset()
    const result = await lora(['tag', '2', '--add', 'dog'], {
      cwd: root,
      env: {LORA_FAILPOINT: '1', LORA_FAILPOINT_ERROR: code},
    })
    expect(result.stderr).not.toMatch(/this was unexpected|report it/iu)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      new RegExp(`^error: ${says}.* \\(\\w+ ${root.replaceAll(/[.*+?^${}()|[\]\\]/gu, '\\$&')}/`, 'mu'),
    )
    expect(result.stderr).toMatch(/^hint: .+/mu)
    await loraInOk(['tag', '2', '--add', 'dog'], {cwd: root})
    const state = JSON.parse(await fsp.readFile(meta(root, 'state.json'), 'utf8'))
    expect(state.images[1].tags).toEqual(['dog'])
  })
})
