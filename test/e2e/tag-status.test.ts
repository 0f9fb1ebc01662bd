/**
 * `lora tag`, `lora next --print`, `lora status` and dataset discovery through the built binary (bin/run.js in a
 * child process): a smoke of what only a process shows, exit statuses 0/1/2/3/5 and the bytes on stdout and stderr.
 * Plain `status` and `next --print` take bin/run.js's fast path here (test/e2e/fast-path.test.ts checks it matches
 * oclif). Every case of these commands' behaviour runs in-process in test/commands/tag-status.test.ts.
 */
import * as fsp from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {
  GOOD_FIXTURES,
  TRUNCATED,
  cleanupTemps,
  cloneDataset,
  initDataset,
  lora,
  loraOk,
  readText,
  snapshot,
  spawnSleeper,
  tempDir,
} from './e2e-helpers.js'

let template: string

beforeAll(async () => {
  template = await initDataset({names: [...GOOD_FIXTURES, TRUNCATED]})
})
afterAll(cleanupTemps)

describe('lora tag, next --print and status through bin/run.js', () => {
  it('tag: exit 0, the change on stdout, the count on stderr; --stdin reads a pipe', async () => {
    const dir = await cloneDataset(template)
    const result = await lora(['tag', '1', '--add', 'red hair,smile'], {cwd: dir})
    expect(result).toEqual({
      code: 0,
      signal: null,
      stdout: 'img_0001: +red hair +smile [pending → tagged]\n',
      stderr: '1 of 1 image changed.\n',
    })
    expect(await readText(join(dir, 'output', 'img_0001.txt'))).toBe('red hair, smile\n')
    const piped = await lora(['tag', '--stdin'], {cwd: dir, input: '2\tcat, sitting\n3\tdog\n'})
    expect(piped).toEqual({
      code: 0,
      signal: null,
      stdout: 'img_0002: +cat +sitting [pending → tagged]\nimg_0003: +dog [pending → tagged]\n',
      stderr: '2 of 2 images changed.\n',
    })
  })

  it('next --print and status (the fast path): data on stdout, nothing on stderr, exit 0', async () => {
    const dir = await cloneDataset(template)
    await loraOk(['tag', '1', '--add', 'a'], {cwd: dir})
    expect(await lora(['next', '--print'], {cwd: dir})).toEqual({
      code: 0,
      signal: null,
      stdout: `img_0002\t${join(dir, 'output', 'img_0002.jpg')}\n`,
      stderr: '',
    })
    const status = await lora(['status'], {cwd: dir})
    expect(status).toMatchObject({code: 0, signal: null, stderr: ''})
    expect(status.stdout.split('\n')).toContain('Images:  7 total, 1 tagged, 0 skipped, 6 pending')
    const json = await lora(['status', '--json'], {cwd: dir})
    expect(json).toMatchObject({code: 0, signal: null, stderr: ''})
    expect(JSON.parse(json.stdout)).toMatchObject({
      dataset: dir,
      images: {total: 7, tagged: 1, skipped: 0, pending: 6, auto: 0},
      next: {id: 'img_0002'},
    })
  })

  it('status (the fast path) finds the dataset from -C, --dataset=, LORA_DATASET and a subfolder; exit 3 when there is none', async () => {
    const dir = await cloneDataset(template)
    const elsewhere = await tempDir('lora-elsewhere-')
    for (const [args, cwd, env] of [
      [['-C', dir], elsewhere, {}],
      [[`--dataset=${dir}`], elsewhere, {}],
      [[], elsewhere, {LORA_DATASET: dir}],
      [[], join(dir, 'output'), {}],
    ] as const) {
      const r = await lora(['status', '--json', ...args], {cwd, env})
      expect([args, r.code, r.stderr]).toEqual([args, 0, ''])
      expect(JSON.parse(r.stdout).dataset).toBe(dir)
    }
    const none = await lora(['status'], {cwd: elsewhere})
    expect(none).toMatchObject({code: 3, signal: null, stdout: ''})
    expect(none.stderr).toMatch(/^error: No lora dataset/mu)
  })

  it('exit 2 for a usage error, 5 for a held lock, 1 for a broken config: one error and a hint, nothing written', async () => {
    const dir = await cloneDataset(template)
    const before = await snapshot(dir)
    const unknown = await lora(['tag', '99', '--add', 'x'], {cwd: dir})
    expect(unknown).toMatchObject({code: 2, signal: null, stdout: ''})
    expect(unknown.stderr).toMatch(/^error: No image matches "99"\.\nhint: \S/u)

    const sleeper = spawnSleeper()
    try {
      await fsp.writeFile(
        join(dir, '.lora-tagger', 'lock'),
        JSON.stringify({pid: sleeper.pid, host: hostname(), command: 'test', since: 'now'}),
      )
      const busy = await lora(['tag', '1', '--add', 'x'], {cwd: dir})
      expect(busy).toMatchObject({code: 5, signal: null, stdout: ''})
      expect(busy.stderr).toContain(`test (pid ${sleeper.pid} on ${hostname()})`)
    } finally {
      sleeper.kill()
      await fsp.rm(join(dir, '.lora-tagger', 'lock'))
    }

    await fsp.appendFile(join(dir, '.lora-tagger', 'config.yaml'), 'colour: blue\n')
    const config = await lora(['tag', '1', '--add', 'x'], {cwd: dir})
    expect(config).toMatchObject({code: 1, signal: null, stdout: ''})
    expect(config.stderr).toContain('"colour"')
    await fsp.writeFile(
      join(dir, '.lora-tagger', 'config.yaml'),
      (await readText(join(dir, '.lora-tagger', 'config.yaml'))).replace('colour: blue\n', ''),
    )
    expect(await snapshot(dir)).toEqual(before)
  })
})
