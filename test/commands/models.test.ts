/**
 * `lora models pull|list|rm` (issue 14), in-process against a stand-in hub on 127.0.0.1 (test/models-hub.ts:
 * the hub's redirect and headers, a CDN on another origin, Range answers, cut transfers). HF_ENDPOINT points at it,
 * XDG_CACHE_HOME at a temp folder; nothing comes from the internet.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {loraIn} from '../in-process.js'
import {copyFixtures, GOOD_FIXTURES, makeTemp, removeTemp} from '../helpers.js'
import {ENDLESS_STOP, type Hub, selectedTags, sha256Hex, startHub, tinyTagger} from '../models-hub.js'
import {openModelFolder} from '../../src/store/models.js'
import {pullModel} from '../../src/services/models.js'
import {OPTIMIZED_MANIFEST} from '../../src/adapters/optimized-model.js'

const REPO = 'SmilingWolf/wd-tiny-tagger-v3'
const MODEL = tinyTagger({size: 448, tags: 2000})
const CSV = selectedTags(2000)

let hub: Hub
let tmp: string
let cache: string

/** Runs lora with the hub and the temp cache (and no HF_TOKEN / LORA_CACHE_DIR from the outer environment). */
function lora(args: string[], env: NodeJS.ProcessEnv = {}) {
  return loraIn(args, {
    cwd: tmp,
    env: {HF_ENDPOINT: hub.endpoint, XDG_CACHE_HOME: cache, HF_TOKEN: undefined, LORA_CACHE_DIR: undefined, ...env},
  })
}

const modelDir = (revision = 'main') => join(cache, 'lora', 'models', 'SmilingWolf--wd-tiny-tagger-v3', revision)
const stagingDir = (revision = 'main') =>
  join(cache, 'lora', 'models', 'SmilingWolf--wd-tiny-tagger-v3', `.partial-${revision}`)

function serve(revision = 'main', model = MODEL) {
  hub.behaviour.files.set(`${REPO}@${revision}/model.onnx`, {body: model, lfs: true})
  hub.behaviour.files.set(`${REPO}@${revision}/selected_tags.csv`, {body: CSV, lfs: false})
}

beforeEach(async () => {
  hub = await startHub()
  tmp = await makeTemp('lora-models-')
  cache = join(tmp, 'cache')
})
afterEach(async () => {
  await hub.close()
  await removeTemp(tmp)
})

describe('lora models pull', () => {
  it('downloads model.onnx and selected_tags.csv into the cache, verified, and prints the folder', async () => {
    serve()
    const r = await lora(['models', 'pull', REPO, '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report).toEqual({
      name: REPO,
      revision: 'main',
      commit: 'c0ffee' + '0'.repeat(34),
      path: modelDir(),
      upToDate: false,
      files: [
        {
          file: 'model.onnx',
          bytes: MODEL.length,
          sha256: sha256Hex(MODEL),
          verified: true,
          downloaded: MODEL.length,
          resumedFrom: 0,
        },
        {
          file: 'selected_tags.csv',
          bytes: CSV.length,
          sha256: sha256Hex(CSV),
          verified: false,
          downloaded: CSV.length,
          resumedFrom: 0,
        },
      ],
    })
    expect(fs.readFileSync(join(modelDir(), 'model.onnx')).equals(MODEL)).toBe(true)
    expect(fs.readFileSync(join(modelDir(), 'selected_tags.csv')).equals(CSV)).toBe(true)
    expect(fs.existsSync(stagingDir())).toBe(false)
    // The hub was asked without following the CDN redirect (HEAD), the CDN served the bytes.
    expect(hub.requests.filter((q) => q.server === 'cdn' && q.method === 'GET')).toHaveLength(1)

    const gets = hub.requests.filter((q) => q.method === 'GET').length
    const human = await lora(['models', 'pull', REPO])
    expect(human.code).toBe(0)
    expect(human.stdout).toBe(modelDir() + '\n')
    expect(human.stderr).toMatch(/already up to date/)
    expect(hub.requests.filter((q) => q.method === 'GET')).toHaveLength(gets) // nothing downloaded again
  })

  it('resumes a transfer cut in the middle with a Range request, and only then puts the model in place', async () => {
    serve()
    const cut = Math.floor(MODEL.length / 2)
    hub.behaviour.cutAfter.set(`${REPO}@main/model.onnx`, cut)
    const first = await lora(['models', 'pull', REPO])
    expect(first.code).toBe(1)
    expect(first.stderr).toMatch(
      /error: Cannot download model\.onnx of SmilingWolf\/wd-tiny-tagger-v3: the transfer was cut/,
    )
    expect(first.stderr).toMatch(/hint: .*resumes where it stopped/)
    expect(fs.existsSync(modelDir())).toBe(false)
    const parts = fs.readdirSync(stagingDir()).filter((n) => n.endsWith('.part'))
    expect(parts).toEqual([`model.onnx.${sha256Hex(MODEL)}.part`])
    expect(fs.statSync(join(stagingDir(), parts[0])).size).toBe(cut)
    expect((await lora(['models', 'list', '--json'])).stdout).toMatch(/"models": \[\]/)

    const second = await lora(['models', 'pull', REPO, '--json'])
    expect(second.code).toBe(0)
    expect(JSON.parse(second.stdout).files[0]).toMatchObject({
      resumedFrom: cut,
      downloaded: MODEL.length - cut,
      verified: true,
    })
    const gets = hub.requests.filter((q) => q.server === 'cdn' && q.method === 'GET')
    expect(gets.map((q) => q.range)).toEqual([undefined, `bytes=${cut}-`])
    expect(fs.readFileSync(join(modelDir(), 'model.onnx')).equals(MODEL)).toBe(true)
    expect(fs.existsSync(stagingDir())).toBe(false)
  })

  it('a part file that is a symbolic link is not resumed through it: the link is removed, what it points to stays', async () => {
    serve()
    const outside = join(tmp, 'outside.bin')
    await fsp.writeFile(outside, 'keep me')
    await fsp.mkdir(stagingDir(), {recursive: true})
    await fsp.symlink(outside, join(stagingDir(), `model.onnx.${sha256Hex(MODEL)}.part`))
    const r = await lora(['models', 'pull', REPO, '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).files[0]).toMatchObject({resumedFrom: 0, verified: true})
    expect(fs.readFileSync(outside, 'utf8')).toBe('keep me')
    expect(fs.readFileSync(join(modelDir(), 'model.onnx')).equals(MODEL)).toBe(true)
  })

  it('refuses a file whose sha256 is not the one the hub states, leaving nothing under the final name', async () => {
    serve()
    hub.behaviour.files.get(`${REPO}@main/model.onnx`)!.statedSha256 = sha256Hex(Buffer.from('another file'))
    const r = await lora(['models', 'pull', REPO])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /error: model\.onnx of .* does not match the checksum the hub states .*; the download was removed\./,
    )
    expect(r.stderr).toMatch(/hint: Run `lora models pull SmilingWolf\/wd-tiny-tagger-v3` again/)
    expect(fs.existsSync(modelDir())).toBe(false)
    expect(fs.readdirSync(stagingDir()).filter((n) => n.startsWith('model.onnx'))).toEqual([])
  })

  it('stops a transfer going past the size the hub states (a body that never ends) and removes it: checksum', async () => {
    serve()
    const stated = 2591
    const key = `${REPO}@main/model.onnx`
    hub.behaviour.files.set(key, {body: MODEL.subarray(0, stated), lfs: true, endless: true})
    const chunk = 64 * 1024

    // The service: the typed error, and what reached the disk (the part's size after each write).
    let written = 0
    const started = Date.now()
    const error = await pullModel({
      repo: REPO,
      env: {HF_ENDPOINT: hub.endpoint, XDG_CACHE_HOME: cache},
      onProgress: (p) => void (written = Math.max(written, p.received)),
    }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toMatchObject({code: 'checksum'})
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(written).toBeLessThan(stated + chunk)
    expect(hub.behaviour.sent.get(key)).toBeLessThan(ENDLESS_STOP) // lora hung up; the server did not give up first
    expect(fs.readdirSync(stagingDir()).filter((n) => n.startsWith('model.onnx'))).toEqual([])

    // The command: exit 1, the message and hint, nothing under the final name.
    const r = await lora(['models', 'pull', REPO])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /error: model\.onnx of SmilingWolf\/wd-tiny-tagger-v3 is larger than the 2591 bytes the hub states; the download was stopped and removed\./,
    )
    expect(r.stderr).toMatch(/hint: Run `lora models pull SmilingWolf\/wd-tiny-tagger-v3` again/)
    expect(Date.now() - started).toBeLessThan(20_000)
    expect(fs.existsSync(modelDir())).toBe(false)
    expect(fs.readdirSync(stagingDir()).filter((n) => n.startsWith('model.onnx'))).toEqual([])
  })

  it('says to set HF_TOKEN on 401, and sends it as a bearer token', async () => {
    serve()
    hub.behaviour.token = 'hf_secret'
    const r = await lora(['models', 'pull', REPO])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /error: The hub refused access to SmilingWolf\/wd-tiny-tagger-v3 \(HTTP 401, a gated repository\)/,
    )
    expect(r.stderr).toMatch(/hint: .*set HF_TOKEN/)
    expect(fs.existsSync(modelDir())).toBe(false)

    const ok = await lora(['models', 'pull', REPO], {HF_TOKEN: 'hf_secret'})
    expect(ok.code).toBe(0)
    expect(
      hub.requests
        .filter((q) => q.server === 'hub')
        .every((q) => q.authorization === 'Bearer hf_secret' || q.authorization === undefined),
    ).toBe(true)
    expect(hub.requests.some((q) => q.server === 'hub' && q.authorization === 'Bearer hf_secret')).toBe(true)
    // Never sent to the CDN (another origin).
    expect(hub.requests.filter((q) => q.server === 'cdn').every((q) => q.authorization === undefined)).toBe(true)

    hub.behaviour.status = {code: 401}
    const refused = await lora(['models', 'pull', REPO, '--revision', 'v2'], {HF_TOKEN: 'hf_wrong'})
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/hint: HF_TOKEN is set but was refused/)
  })

  it('names the repository and the revision on 404', async () => {
    serve()
    hub.behaviour.status = {code: 404, errorCode: 'RevisionNotFound'}
    const rev = await lora(['models', 'pull', REPO, '--revision', 'nope'])
    expect(rev.code).toBe(1)
    expect(rev.stderr).toMatch(/error: SmilingWolf\/wd-tiny-tagger-v3 has no revision "nope"/)
    expect(rev.stderr).toMatch(/hint: Check --revision/)
    hub.behaviour.status = {code: 404}
    const repo = await lora(['models', 'pull', 'someone/missing'])
    expect(repo.code).toBe(1)
    expect(repo.stderr).toMatch(/error: someone\/missing was not found at revision main \(HTTP 404\)/)
    expect(repo.stderr).toMatch(/hint: Check the name/)
    expect(fs.existsSync(join(cache, 'lora', 'models'))).toBe(false)
  })

  it('says the network failed when the hub cannot be reached', async () => {
    const r = await lora(['models', 'pull', REPO], {HF_ENDPOINT: 'http://127.0.0.1:9'})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/error: Cannot download model\.onnx of .*: cannot reach http:\/\/127\.0\.0\.1:9/)
    expect(r.stderr).toMatch(/hint: Check the connection/)
  })

  it.each([['a/../b'], ['../x'], ['a/b/c'], ['owner'], ['a--b/c'], ['a-/b'], ['a/b.']])(
    'refuses the name %s (exit 2)',
    async (name) => {
      const r = await lora(['models', 'pull', name])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^error: ".*" is not a (model repository|valid repository id)/)
      expect(hub.requests).toEqual([])
    },
  )
})

describe('lora models list', () => {
  it('shows name, revision, size, input size (from the ONNX input shape) and tag count', async () => {
    serve('main')
    serve('v2', tinyTagger({size: 384, tags: 2000}))
    expect((await lora(['models', 'pull', REPO])).code).toBe(0)
    expect((await lora(['models', 'pull', REPO, '--revision', 'v2'])).code).toBe(0)
    const r = await lora(['models', 'list', '--json'])
    expect(r.code).toBe(0)
    const list = JSON.parse(r.stdout)
    expect(list.cache).toBe(join(cache, 'lora', 'models'))
    expect(list.models).toEqual([
      {
        name: REPO,
        revision: 'main',
        path: modelDir('main'),
        bytes: MODEL.length + CSV.length,
        inputSize: 448,
        input: {name: 'input_1:0', dims: ['batch', 448, 448, 3]},
        tags: 2000,
        commit: 'c0ffee' + '0'.repeat(34),
        pulledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
      expect.objectContaining({revision: 'v2', inputSize: 384, tags: 2000}),
    ])
    const human = await lora(['models', 'list'])
    expect(human.stdout.split('\n')[0]).toMatch(/^NAME +REVISION +SIZE +INPUT +TAGS$/)
    expect(human.stdout).toMatch(/SmilingWolf\/wd-tiny-tagger-v3 +main +\d+(\.\d)? kB +448×448 +2000/)
  })

  it('says so when nothing was pulled', async () => {
    const r = await lora(['models', 'list'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/No models pulled yet/)
  })
})

describe('lora models rm', () => {
  it('removes one revision or all, and nothing outside the models cache', async () => {
    serve('main')
    serve('v2')
    await lora(['models', 'pull', REPO])
    await lora(['models', 'pull', REPO, '--revision', 'v2'])
    const one = await lora(['models', 'rm', REPO, '--revision', 'v2', '--json'])
    expect(one.code).toBe(0)
    expect(JSON.parse(one.stdout)).toEqual({
      removed: [{name: REPO, revision: 'v2', path: modelDir('v2')}],
      optimizedCopies: [],
    })
    expect(fs.existsSync(modelDir('v2'))).toBe(false)
    expect(fs.existsSync(modelDir('main'))).toBe(true)
    const all = await lora(['models', 'rm', REPO])
    expect(all.code).toBe(0)
    expect(all.stderr).toMatch(/Removed SmilingWolf\/wd-tiny-tagger-v3 \(main\)\./)
    expect(fs.existsSync(join(cache, 'lora', 'models', 'SmilingWolf--wd-tiny-tagger-v3'))).toBe(false)

    const missing = await lora(['models', 'rm', REPO])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/is not in the models cache/)
    expect((await lora(['models', 'rm', '../outside'])).code).toBe(2)

    // A model folder that is a link to somewhere else is refused, and what it points to stays.
    const outside = join(tmp, 'outside')
    await fsp.mkdir(join(outside, 'main'), {recursive: true})
    await fsp.writeFile(join(outside, 'main', 'model.onnx'), 'keep me')
    await fsp.mkdir(join(cache, 'lora', 'models'), {recursive: true})
    await fsp.symlink(outside, join(cache, 'lora', 'models', 'SmilingWolf--wd-tiny-tagger-v3'))
    const linked = await lora(['models', 'rm', REPO])
    expect(linked.code).toBe(1)
    expect(linked.stderr).toMatch(/is a symbolic link, or not inside the models cache/)
    expect(fs.readFileSync(join(outside, 'main', 'model.onnx'), 'utf8')).toBe('keep me')
    // A revision folder that is a link: refused with or without --revision, and nothing removed.
    const owner = join(cache, 'lora', 'models', 'SmilingWolf--wd-tiny-tagger-v3')
    await fsp.rm(owner)
    await fsp.mkdir(owner)
    await fsp.symlink(join(outside, 'main'), join(owner, 'main'))
    for (const args of [
      ['models', 'rm', REPO],
      ['models', 'rm', REPO, '--revision', 'main'],
    ]) {
      const r = await lora(args)
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/is a symbolic link, or not inside the models cache/)
      expect(fs.lstatSync(join(owner, 'main')).isSymbolicLink()).toBe(true)
    }
    expect(fs.readFileSync(join(outside, 'main', 'model.onnx'), 'utf8')).toBe('keep me')
  })
})

describe('lora models rm: the optimised copies of the removed model files go with them', () => {
  const copiesDir = () => join(cache, 'lora', 'optimized-models')
  /** The model sha256 of each optimised copy, by folder name (temp folders left out). */
  async function copies(): Promise<Map<string, string>> {
    const names = (await fsp.readdir(copiesDir()).catch(() => [] as string[])).filter((n) => !n.startsWith('.'))
    const out = new Map<string, string>()
    for (const name of names) {
      const manifest = JSON.parse(await fsp.readFile(join(copiesDir(), name, OPTIMIZED_MANIFEST), 'utf8')) as {
        key: {model: string}
      }
      out.set(name, manifest.key.model)
    }
    return out
  }

  it('rm --revision removes the copy of that revision, keeps one whose file a remaining revision holds, and rm removes the rest', async () => {
    const other = tinyTagger({size: 224, tags: 2000}) // another file: another input size
    serve('main')
    serve('v2', other)
    serve('v3') // the same model.onnx as main
    for (const revision of ['main', 'v2', 'v3'])
      expect((await lora(['models', 'pull', REPO, '--revision', revision])).code).toBe(0)
    // A dataset tagged with each revision: every model of any size gets its optimised copy (LORA_OPTIMIZE_MIN_BYTES=0).
    const dataset = join(tmp, 'dataset')
    await copyFixtures(dataset, GOOD_FIXTURES.slice(0, 1))
    expect((await lora(['init', dataset])).code).toBe(0)
    for (const revision of ['main', 'v2']) {
      const tagged = await loraIn(['autotag', '--all', '--model', `${REPO}@${revision}`], {
        cwd: dataset,
        env: {XDG_CACHE_HOME: cache, LORA_CACHE_DIR: undefined, LORA_OPTIMIZE_MIN_BYTES: '0'},
      })
      expect(tagged.stderr).not.toMatch(/error/iu)
      expect(tagged.code).toBe(0)
    }
    // A copy of a model that was never pulled (a folder given to --model) stays through every rm below.
    const stranger = join(copiesDir(), 'f'.repeat(64))
    await fsp.mkdir(stranger, {recursive: true})
    await fsp.writeFile(join(stranger, OPTIMIZED_MANIFEST), JSON.stringify({version: 1, key: {model: 'e'.repeat(64)}}))
    const before = await copies()
    expect(new Set(before.values())).toEqual(new Set([sha256Hex(MODEL), sha256Hex(other), 'e'.repeat(64)]))

    const v2 = await lora(['models', 'rm', REPO, '--revision', 'v2', '--json'])
    expect(v2.code).toBe(0)
    const v2Copy = [...before].find(([, sha]) => sha === sha256Hex(other))![0]
    const report = JSON.parse(v2.stdout) as {optimizedCopies: {path: string; bytes: number}[]}
    expect(report.optimizedCopies).toEqual([{path: join(copiesDir(), v2Copy), bytes: expect.any(Number)}])
    expect(report.optimizedCopies[0].bytes).toBeGreaterThan(4 * 2000)
    expect(new Set((await copies()).values())).toEqual(new Set([sha256Hex(MODEL), 'e'.repeat(64)]))

    // v3 holds the same file as main, which stays: its copy is kept.
    const v3 = await lora(['models', 'rm', REPO, '--revision', 'v3', '--json'])
    expect(JSON.parse(v3.stdout)).toMatchObject({optimizedCopies: []})
    expect(new Set((await copies()).values())).toEqual(new Set([sha256Hex(MODEL), 'e'.repeat(64)]))

    const all = await lora(['models', 'rm', REPO])
    expect(all.code).toBe(0)
    expect(all.stderr).toMatch(/Removed its optimised copy \(\d[\d.]* kB\) from .*optimized-models\./)
    expect([...(await copies()).values()]).toEqual(['e'.repeat(64)])
  })
})

describe('a pulled model is what `lora autotag --model OWNER/NAME` opens', () => {
  it('openModelFolder finds the folder `models pull` wrote, by name and by name@revision, with its labels', async () => {
    serve()
    serve('v2')
    expect((await lora(['models', 'pull', REPO])).code).toBe(0)
    expect((await lora(['models', 'pull', REPO, '--revision', 'v2'])).code).toBe(0)
    const saved = {XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, LORA_CACHE_DIR: process.env.LORA_CACHE_DIR}
    process.env.XDG_CACHE_HOME = cache
    delete process.env.LORA_CACHE_DIR
    try {
      const main = await openModelFolder(REPO, tmp)
      expect(main).toMatchObject({name: 'wd-tiny-tagger-v3', dir: modelDir(), sha256: sha256Hex(MODEL)})
      expect(main.labels).toHaveLength(2000)
      expect((await openModelFolder(`${REPO}@v2`, tmp)).dir).toBe(modelDir('v2'))
      await expect(openModelFolder(`${REPO}@v3`, tmp)).rejects.toThrow(/No model folder or pulled model/u)
    } finally {
      for (const [key, value] of Object.entries(saved))
        if (value === undefined) delete process.env[key]
        else process.env[key] = value
    }
  })
})
