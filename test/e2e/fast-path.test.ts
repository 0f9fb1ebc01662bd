/**
 * The fast path of bin/run.js: a command named plainly runs from its bundle (dist/bundle/, scripts/bundle-commands.js)
 * under the lean runner (src/cli/lean.ts), without loading oclif's Config, plugins or help; src/cli/launch.ts decides
 * which invocations. These tests check that it is taken exactly for those invocations (a loader hook records whether
 * the @oclif/core package was loaded: a bundle holds the parts it needs) and that what it prints — stdout, stderr,
 * exit code, colours — is byte for byte what oclif's full path prints for the same invocation (LORA_NO_FAST_PATH=1
 * forces oclif), for every kind of command: readers, a writer, errors, usage errors. What oclif prints comes from one
 * process per environment that runs every invocation in turn (test/e2e/oclif-reference.mjs), checked against spawned
 * LORA_NO_FAST_PATH=1 processes for a sample.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {execFileSync, spawn} from 'node:child_process'
import {BIN, cleanEnv, ROOT, type RunResult} from '../helpers.js'
import {PtySession} from './pty.js'
import {GOOD_FIXTURES, cleanupTemps, cloneDataset, initDataset, lora, loraOk, tempDir} from './e2e-helpers.js'

/**
 * Packages no plain read-only command loads (test/e2e/startup-imports.test.ts checks every bundle statically; simple-git
 * is bundled behind `import()`, so only that static check sees it).
 */
const HEAVY = ['sharp', 'simple-git', 'onnxruntime-node', 'puppeteer-core', 'yaml']

let template: string
let hook: string
let preload: string
let stopAtOclif: string

beforeAll(async () => {
  template = await initDataset({names: GOOD_FIXTURES})
  await loraOk(['tag', '1', '--add', 'red hair, smile'], {cwd: template})
  await loraOk(['tag', '2', '--skip'], {cwd: template})
  // A module-resolution hook that appends every package this process resolves to $LORA_TEST_RESOLVED: sees ESM
  // imports too (heavy packages are loaded by import()), but runs hooks on a thread of their own (~60–140 ms of CPU
  // per run), so only the runs that check for heavy packages use it.
  const dir = await tempDir('lora-fast-hook-')
  const hooks = join(dir, 'hooks.mjs')
  await fsp.writeFile(
    hooks,
    `import fs from 'node:fs'\nexport async function resolve(s, c, next) { if (!s.startsWith('.') && !s.startsWith('node:') && !s.startsWith('file:')) fs.appendFileSync(process.env.LORA_TEST_RESOLVED, s + '\\n'); return next(s, c) }\n`,
  )
  hook = join(dir, 'register.mjs')
  await fsp.writeFile(
    hook,
    `import {register} from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)})\n`,
  )
  // The cheap one: a CommonJS preload that, at exit, appends the packages in require's cache. @oclif/core is CommonJS,
  // so it is there however it was loaded (an ESM import of a CommonJS module goes through that cache).
  preload = join(dir, 'preload.cjs')
  await fsp.writeFile(
    preload,
    `const Module = require('node:module')\nprocess.on('exit', () => {\n  const names = new Set()\n  for (const key of Object.keys(Module._cache)) {\n    const m = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/u.exec(key)\n    if (m) names.add(m[1].replace(/\\\\/gu, '/'))\n  }\n  require('node:fs').appendFileSync(process.env.LORA_TEST_RESOLVED, [...names].join('\\n') + '\\n')\n})\n`,
  )
  // For runs that only check that an invocation goes to oclif: loaded after `preload`, it ends the process with the
  // marker as soon as @oclif/core is about to be loaded (an ESM import of it reaches Module._load with its file's
  // path), instead of letting oclif load its Config and plugins and run the command.
  stopAtOclif = join(dir, 'stop-at-oclif.cjs')
  await fsp.writeFile(
    stopAtOclif,
    `const Module = require('node:module')\nconst load = Module._load\nModule._load = function (request, ...rest) {\n  if (/^@oclif\\/core(\\/|$)|node_modules[\\\\/]@oclif[\\\\/]core[\\\\/]/u.test(request)) {\n    require('node:fs').appendFileSync(process.env.LORA_TEST_RESOLVED, '@oclif/core\\n')\n    process.exit(0)\n  }\n  return load.call(this, request, ...rest)\n}\n`,
  )
})
afterAll(cleanupTemps)

/**
 * Runs lora under the CommonJS preload; returns the result and whether @oclif/core was loaded. With `heavy`, under
 * the resolution hook instead, which also sees the heavy packages (loaded by import()). With `stopAtOclif`, a run
 * that goes to oclif ends (exit 0, nothing printed) when @oclif/core is about to be loaded: for routing checks only.
 */
async function traced(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
  options: {heavy?: boolean; stopAtOclif?: boolean} = {},
) {
  const log = join(await tempDir('lora-fast-log-'), 'resolved.txt')
  await fsp.writeFile(log, '')
  const nodeOptions = options.heavy
    ? `--import ${hook}`
    : `--require ${preload}${options.stopAtOclif ? ` --require ${stopAtOclif}` : ''}`
  const result = await lora(args, {cwd, env: {...env, NODE_OPTIONS: nodeOptions, LORA_TEST_RESOLVED: log}})
  const resolved = (await fsp.readFile(log, 'utf8')).split('\n')
  return {...result, oclif: resolved.includes('@oclif/core'), heavy: resolved.filter((name) => HEAVY.includes(name))}
}

/** What a run prints and its exit code: what the fast path and oclif's full path must agree on. */
type Output = Pick<RunResult, 'stdout' | 'stderr' | 'code'>

/** test/e2e/oclif-reference.mjs: runs many invocations through oclif's full path in one process. */
const REFERENCE = join(ROOT, 'test', 'e2e', 'oclif-reference.mjs')

/**
 * What oclif's full path (`LORA_NO_FAST_PATH=1 lora ...args` in `cwd`) prints for each job, from one Node process
 * run with `env` over cleanEnv(), as `lora` runs the binary (test/e2e/oclif-reference.mjs): a process per job cost
 * a Node start and a load of oclif's Config and plugins each. 'the references are what a spawned process prints'
 * below checks a sample against spawned processes. Jobs that write need folders of their own.
 */
async function oclifReferences(jobs: {args: readonly string[]; cwd: string}[], env: NodeJS.ProcessEnv = {}) {
  const dir = await tempDir('lora-fast-ref-')
  await fsp.writeFile(join(dir, 'jobs.json'), JSON.stringify(jobs))
  const run = await new Promise<{code: number | null; stderr: string}>((resolve, reject) => {
    const child = spawn(process.execPath, [REFERENCE, join(dir, 'jobs.json'), join(dir, 'results.json')], {
      cwd: ROOT,
      env: {...cleanEnv(), ...env},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stderr}))
  })
  if (run.code !== 0) throw new Error(`oclif-reference.mjs exited ${run.code}: ${run.stderr}`)
  const results = JSON.parse(await fsp.readFile(join(dir, 'results.json'), 'utf8')) as Output[]
  expect(results).toHaveLength(jobs.length)
  return results
}

/** Puts `dir` back as a fresh copy of the template (after a run that may have written). */
async function restore(dir: string): Promise<void> {
  await fsp.rm(dir, {recursive: true})
  await fsp.cp(template, dir, {recursive: true})
}

/** The environment of the runs with colours forced. */
const FORCED = {FORCE_COLOR: '1', NO_COLOR: undefined}

const PLAIN = [
  ['status'],
  ['status', '--json'],
  ['status', '--no-color'],
  ['status', '-C', '.', '--json'],
  ['status', '--dataset=.'],
  ['next', '--print'],
  ['next', '--print', '--json'],
  ['next', '--json', '--print', '--no-commit'],
  ['tags', '--json'],
  ['tags'],
  ['show', '1', '--json'],
  ['show', '1'],
  ['validate', 'output'],
  ['tags', 'rename', 'smile', 'grin', '--json'],
  ['tag', '3', '--add', 'x, y'],
  // Global flags before the command, as git takes them.
  ['-C', '.', 'status'],
  ['--no-color', '-C', '.', '--json', 'status'],
  ['--dataset=.', 'next', '--print'],
  ['-C', '.', 'tags', 'rename', 'smile', 'grin'],
]

/** The cases also compared with colours forced. */
const COLOURED = [
  ['status'],
  ['status', '--json'],
  ['status', '--no-color'],
  ['next', '--print'],
  ['next', '--print', '--json'],
  ['tags'],
  ['show', '1'],
]

/**
 * For the hooks and tests that run a batch of oclif runs in turn (30-40 s on a slow day in CI): room on a loaded
 * machine; a hang still fails.
 */
const SLOW_TIMEOUT = 180_000

/** Per PLAIN case: its own copy of the template, and what oclif prints there (`colour`: for COLOURED, forced). */
const plain: {dir: string; reference: Output; colour?: Output}[] = []

beforeAll(async () => {
  const dirs: string[] = []
  for (let i = 0; i < PLAIN.length; i++) dirs.push(await cloneDataset(template))
  const references = await oclifReferences(PLAIN.map((args, i) => ({args, cwd: dirs[i]})))
  for (const [i, reference] of references.entries()) plain.push({dir: dirs[i], reference})
  for (const {dir} of plain) await restore(dir)
  const coloured = PLAIN.flatMap((args, i) => (COLOURED.some((c) => c.join(' ') === args.join(' ')) ? [i] : []))
  expect(coloured).toHaveLength(COLOURED.length)
  const forced = await oclifReferences(
    coloured.map((i) => ({args: PLAIN[i], cwd: plain[i].dir})),
    FORCED,
  )
  for (const [k, i] of coloured.entries()) plain[i].colour = forced[k]
  for (const {dir} of plain) await restore(dir)
}, SLOW_TIMEOUT)

describe('a command named plainly skips oclif and prints what oclif prints', () => {
  it.each(PLAIN)('lora %s', async (...args) => {
    // Each case has its folder: the reference ran there on the same copy of the template (a command that writes
    // runs on the dataset as it was, in the same folder), and it is restored after each run. Colours are forced
    // too for the plain forms of each output (human and --json of status and next --print); the forms that differ
    // only in where a flag sits are compared without.
    const {dir, reference, colour} = plain[PLAIN.findIndex((c) => c.join(' ') === args.join(' '))]
    // Readers of a dataset without history: nothing heavy (validate reads image headers; tag, rename write).
    const reader = ['status', 'next', 'tags', 'show'].some((name) => args.includes(name)) && !args.includes('rename')
    for (const [env, slow] of colour
      ? [[{}, reference] as const, [FORCED, colour] as const]
      : [[{}, reference] as const]) {
      const fast = await traced(args, dir, env, {heavy: reader})
      await restore(dir)
      expect(fast.oclif).toBe(false)
      if (reader) expect(fast.heavy).toEqual([])
      expect(fast.code).toBe(args.includes('validate') ? 4 : 0)
      expect(fast.stdout.length + fast.stderr.length).toBeGreaterThan(0)
      expect({stdout: fast.stdout, stderr: fast.stderr, code: fast.code}).toEqual(slow)
    }
  })

  it('prints the same errors and exit codes: no dataset (3), a broken config (1), usage errors (2)', async () => {
    const empty = await tempDir('lora-fast-empty-')
    const dir = await cloneDataset(template)
    await fsp.writeFile(join(dir, '.lora-tagger', 'config.yaml'), 'prefix: [unclosed\n')
    const cases = [
      [['status'], empty, 3],
      [['next', '--print', '--json'], empty, 3],
      [['status', '--json'], dir, 1],
      [['tags', '--json'], empty, 3],
      [['status', '--bogus'], empty, 2],
      [['next', 'extra'], empty, 2],
      [['tags', 'rename', 'a'], empty, 2],
      [['show'], empty, 2],
      [['log', '-n', 'many'], empty, 2],
      [['-C', empty, 'tag', '1', '--add', 'x'], empty, 3],
    ] as const
    const references = await oclifReferences(cases.map(([args, cwd]) => ({args, cwd})))
    for (const [i, [args, cwd, code]] of cases.entries()) {
      const fast = await traced([...args], cwd)
      expect(fast.oclif).toBe(false)
      expect(fast.code).toBe(code)
      expect(fast.stderr).toMatch(/^error: [^]+\nhint: .+\n$/u)
      expect({stdout: fast.stdout, stderr: fast.stderr, code: fast.code}).toEqual(references[i])
    }
  })

  it('prints nothing for next --print (null with --json) when no image is left', async () => {
    const dir = await cloneDataset(template)
    await loraOk(['tag', '--all', '--add', 'x'], {cwd: dir})
    expect(await traced(['next', '--print'], dir)).toMatchObject({code: 0, stdout: '', stderr: '', oclif: false})
    expect(await traced(['next', '--print', '--json'], dir)).toMatchObject({code: 0, stdout: 'null\n', oclif: false})
  })
})

describe('the oclif references (test/e2e/oclif-reference.mjs)', () => {
  it(
    'are what a spawned LORA_NO_FAST_PATH=1 process prints, byte for byte, for a sample of 8 (writers, colours, errors)',
    async () => {
      const empty = await tempDir('lora-fast-empty-')
      const broken = await cloneDataset(template)
      await fsp.writeFile(join(broken, '.lora-tagger', 'config.yaml'), 'prefix: [unclosed\n')
      const folder = async () => cloneDataset(template)
      const sample: {args: string[]; cwd: string; env: NodeJS.ProcessEnv; code: number}[] = [
        {args: ['status'], cwd: await folder(), env: {}, code: 0},
        {args: ['validate', 'output'], cwd: await folder(), env: {}, code: 4},
        {args: ['tag', '3', '--add', 'x, y'], cwd: await folder(), env: {}, code: 0},
        {args: ['-C', '.', 'tags', 'rename', 'smile', 'grin'], cwd: await folder(), env: {}, code: 0},
        {args: ['status', '--json'], cwd: broken, env: {}, code: 1},
        {args: ['tags', 'rename', 'a'], cwd: empty, env: {}, code: 2},
        {args: ['status'], cwd: await folder(), env: FORCED, code: 0},
        {args: ['next', '--print', '--json'], cwd: await folder(), env: FORCED, code: 0},
      ]
      const plainSample = sample.filter((job) => job.env !== FORCED)
      const forcedSample = sample.filter((job) => job.env === FORCED)
      const references = [...(await oclifReferences(plainSample)), ...(await oclifReferences(forcedSample, FORCED))]
      for (const [i, job] of [...plainSample, ...forcedSample].entries()) {
        if (job.cwd !== empty && job.cwd !== broken) await restore(job.cwd)
        const slow = await traced(job.args, job.cwd, {...job.env, LORA_NO_FAST_PATH: '1'})
        expect(slow.oclif).toBe(true)
        expect(slow.code).toBe(job.code)
        expect(slow.stdout.length + slow.stderr.length).toBeGreaterThan(0)
        expect(references[i]).toEqual({stdout: slow.stdout, stderr: slow.stderr, code: slow.code})
      }
    },
    SLOW_TIMEOUT,
  )
})

describe('a reader that closes the pipe early', () => {
  it.each([['next --print'], ['status'], ['status --json']])(
    'lora %s | true: exit 0, nothing on stderr (as under oclif)',
    async (args) => {
      const dir = await cloneDataset(template)
      for (const env of [{}, {LORA_NO_FAST_PATH: '1'}]) {
        const r = await new Promise<{code: number | null; stderr: string}>((resolve) => {
          // The reader exits at once without reading; with pipefail the exit code is lora's unless it is 0.
          const child = spawn(
            'bash',
            ['-o', 'pipefail', '-c', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} ${args} | true`],
            {cwd: dir, env: {...cleanEnv(), ...env}},
          )
          let stderr = ''
          child.stderr.on('data', (d) => (stderr += d))
          child.on('close', (code) => resolve({code, stderr}))
        })
        expect(r).toEqual({code: 0, stderr: ''})
      }
    },
  )
})

describe('on a terminal', () => {
  it('a plain command takes the fast path; --json to a terminal goes to oclif (which may colour it with a theme)', async () => {
    const dir = await cloneDataset(template)
    for (const [args, oclif] of [
      [['status'], false],
      [['tags'], false],
      [['status', '--json'], true],
      [['next', '--print', '--json'], true],
    ] as const) {
      const log = join(await tempDir('lora-fast-log-'), 'resolved.txt')
      await fsp.writeFile(log, '')
      const session = new PtySession([...args], dir, {
        ...cleanEnv(),
        NODE_OPTIONS: `--require ${preload}`,
        LORA_TEST_RESOLVED: log,
      })
      expect((await session.exit()).exitCode).toBe(0)
      expect(session.text).toMatch(
        (args as readonly string[]).includes('--json')
          ? /"id": "img_0003"|"images"/u
          : args[0] === 'tags'
            ? /red hair/u
            : /Images: {2}7 total/u,
      )
      expect((await fsp.readFile(log, 'utf8')).split('\n').includes('@oclif/core')).toBe(oclif)
    }
  })
})

describe('anything else goes to oclif', () => {
  it.each([
    ['status', '--help'],
    ['-C', '.', 'status', '--help'],
    ['tags', 'rename', '--help'],
    ['tag', '1', '--add', 'x', '--help'],
    ['status', '-h'],
    ['help', 'status'],
    ['--help'],
    [],
    ['--version'],
    ['stauts'],
    ['tags', 'renam', 'a', 'b'],
    ['git'],
    ['-C', '--json', 'status'],
    ['--bogus', 'status'],
    ['autocomplete', 'script', 'bash'],
  ])('lora %s', async (...args) => {
    const dir = await cloneDataset(template)
    const r = await traced(args, dir, {}, {stopAtOclif: true})
    expect(r.oclif).toBe(true)
  })

  it('LORA_CONTENT_TYPE (oclif reads it) and LORA_NO_FAST_PATH', async () => {
    const dir = await cloneDataset(template)
    expect((await traced(['status'], dir, {LORA_CONTENT_TYPE: 'json'}, {stopAtOclif: true})).oclif).toBe(true)
    expect((await traced(['tags'], dir, {LORA_NO_FAST_PATH: '1'}, {stopAtOclif: true})).oclif).toBe(true)
  })
})

describe('the code cache of the bundles', () => {
  it('is written once in the cache folder of lora, used after, and a damaged one is replaced without a word', async () => {
    const dir = await cloneDataset(template)
    const cache = await tempDir('lora-code-cache-')
    const env = {LORA_CACHE_DIR: cache}
    const first = await lora(['tags', '--json'], {cwd: dir, env})
    const files = await fsp.readdir(join(cache, 'code-cache'))
    // Keyed by the bundle (its size and mtime), the Node version and the build (dist/bundle/launch.json).
    const {buildId} = JSON.parse(await fsp.readFile(join(ROOT, 'dist', 'bundle', 'launch.json'), 'utf8')) as {
      buildId: string
    }
    expect(buildId).toMatch(/^[\da-f]{16}$/u)
    expect(files).toEqual([
      expect.stringMatching(
        new RegExp(`^dist-commands-tags-index\\.js-v[\\d.]+-\\w+-\\d+-\\d+-${buildId}\\.bin$`, 'u'),
      ),
    ])
    const path = join(cache, 'code-cache', files[0])
    const written = await fsp.stat(path)
    expect(written.size).toBeGreaterThan(10_000)
    // Used, not rewritten.
    expect(await lora(['tags', '--json'], {cwd: dir, env})).toEqual(first)
    expect((await fsp.stat(path)).mtimeMs).toBe(written.mtimeMs)
    // V8 rejects a damaged cache: the run is the same, and the cache is written anew.
    await fsp.writeFile(path, Buffer.alloc(written.size, 7))
    expect(await lora(['tags', '--json'], {cwd: dir, env})).toEqual(first)
    expect((await fsp.readFile(path)).equals(Buffer.alloc(written.size, 7))).toBe(false)
    expect(await fsp.readdir(join(cache, 'code-cache'))).toEqual(files)
    // Another build of the bundle (another mtime): its cache replaces the old build's.
    const bundle = join(ROOT, 'dist', 'bundle', 'commands', 'tags', 'index.cjs')
    const copy = await tempDir('lora-code-cache-cli-')
    await fsp.cp(join(ROOT, 'bin'), join(copy, 'bin'), {recursive: true})
    await fsp.cp(join(ROOT, 'dist'), join(copy, 'dist'), {recursive: true})
    for (const f of ['package.json', 'oclif.manifest.json']) await fsp.copyFile(join(ROOT, f), join(copy, f))
    await fsp.symlink(join(ROOT, 'node_modules'), join(copy, 'node_modules'))
    const later = new Date((await fsp.stat(bundle)).mtimeMs + 5000)
    await fsp.utimes(join(copy, 'dist', 'bundle', 'commands', 'tags', 'index.cjs'), later, later)
    const other = execFileSync(process.execPath, [join(copy, 'bin', 'run.js'), 'tags', '--json'], {
      cwd: dir,
      env: {...cleanEnv(), ...env},
      encoding: 'utf8',
    })
    expect(other).toBe(first.stdout)
    const now = await fsp.readdir(join(cache, 'code-cache'))
    expect(now).toHaveLength(1)
    expect(now[0]).not.toBe(files[0])
  })

  it('never reads through a symbolic link, nor writes through one, nor waits on a FIFO: each costs nothing and is replaced', async () => {
    const dir = await cloneDataset(template)
    const cache = await tempDir('lora-code-cache-')
    const env = {LORA_CACHE_DIR: cache}
    const first = await lora(['status', '--json'], {cwd: dir, env})
    const [file] = await fsp.readdir(join(cache, 'code-cache'))
    const path = join(cache, 'code-cache', file)
    // Followed, the link would open the FIFO, which blocks until a writer comes: the run would never end.
    const fifo = join(cache, 'fifo')
    execFileSync('mkfifo', [fifo])
    await fsp.rm(path)
    await fsp.symlink(fifo, path)
    expect(await lora(['status', '--json'], {cwd: dir, env})).toEqual(first)
    expect((await fsp.lstat(path)).isFile()).toBe(true)
    expect((await fsp.lstat(fifo)).isFIFO()).toBe(true)
    // A folder in its place: the run is the same.
    await fsp.rm(path)
    await fsp.mkdir(path)
    expect(await lora(['status', '--json'], {cwd: dir, env})).toEqual(first)
    // A FIFO at that very name: opened without blocking, not read, and replaced by the cache file.
    await fsp.rm(path, {recursive: true})
    execFileSync('mkfifo', [path])
    expect(await lora(['status', '--json'], {cwd: dir, env})).toEqual(first)
    expect((await fsp.lstat(path)).isFile()).toBe(true)
  })
})
