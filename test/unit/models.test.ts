/**
 * The pure parts of `lora models` (issue 14): repository ids and revisions (core/model-names.ts), the ONNX input
 * shape reader (core/onnx-shape.ts) on models written by onnx-proto, and the cache folder (store/user-config.ts).
 */
import {execFileSync} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import onnxProto from 'onnx-proto'
import {
  modelFolderName,
  normalizeEtag,
  parseRepoId,
  parseRevision,
  repoFromFolderName,
  resolveUrl,
  revisionFolderName,
  revisionFromFolderName,
  sha256FromEtag,
} from '../../src/core/model-names.js'
import {imageInputSize, OnnxFormatError, readOnnxInput} from '../../src/core/onnx-shape.js'
import {readModelManifest} from '../../src/store/models.js'
import {userCacheDir} from '../../src/store/user-config.js'
import {makeTemp, removeTemp} from '../helpers.js'
import {tinyTagger} from '../models-hub.js'

const source = (bytes: Uint8Array) => ({
  size: bytes.length,
  read: (offset: number, length: number) => bytes.subarray(offset, offset + length),
})

describe('repository ids and revisions', () => {
  it('takes OWNER/NAME and maps it to one folder and back', () => {
    const repo = parseRepoId('SmilingWolf/wd-eva02-large-tagger-v3')
    expect(modelFolderName(repo)).toBe('SmilingWolf--wd-eva02-large-tagger-v3')
    expect(repoFromFolderName('SmilingWolf--wd-eva02-large-tagger-v3')).toEqual(repo)
    expect(repoFromFolderName('no-separator')).toBeUndefined()
  })
  it.each(['a', 'a/b/c', '../b', 'a/..', 'a/.b', 'a--x/b', 'a/b..c', '/a/b', 'a/', 'a b/c', `a/${'x'.repeat(97)}`])(
    'refuses %s',
    (text) => expect(() => parseRepoId(text)).toThrow(/repository/),
  )
  it('checks revisions and percent-encodes their folders', () => {
    expect(parseRevision('refs/pr/1')).toBe('refs/pr/1')
    expect(revisionFolderName('refs/pr/1')).toBe('refs%2Fpr%2F1')
    expect(revisionFromFolderName('refs%2Fpr%2F1')).toBe('refs/pr/1')
    expect(revisionFromFolderName('.partial-main')).toBeUndefined()
    for (const bad of ['', '../x', 'a/../b', '/main', 'main/', '-x', 'a b'])
      expect(() => parseRevision(bad)).toThrow(/not a revision/)
  })
  it('builds the resolve URL as huggingface_hub does', () => {
    expect(resolveUrl('https://hf.example/', parseRepoId('o/n'), 'refs/pr/1', 'model.onnx')).toBe(
      'https://hf.example/o/n/resolve/refs%2Fpr%2F1/model.onnx',
    )
  })
  it('reads a sha256 only from an LFS ETag', () => {
    const sha = 'a'.repeat(64)
    expect(sha256FromEtag(normalizeEtag(`"${sha}"`))).toBe(sha)
    expect(sha256FromEtag(normalizeEtag(`W/"${sha.toUpperCase()}"`))).toBe(sha)
    expect(sha256FromEtag(normalizeEtag(`"${'b'.repeat(40)}"`))).toBeUndefined()
    expect(normalizeEtag(null)).toBeUndefined()
  })
})

describe('readOnnxInput', () => {
  it('reads graph.input[0] past the initializers, symbolic dimensions included', () => {
    const input = readOnnxInput(source(tinyTagger({size: 448, tags: 5000})))
    expect(input).toEqual({name: 'input_1:0', elemType: 1, dims: ['batch', 448, 448, 3]})
    expect(imageInputSize(input.dims)).toBe(448)
  })
  it('agrees with onnx-proto on what it decodes', () => {
    const bytes = tinyTagger({size: 384})
    const decoded = onnxProto.onnx.ModelProto.decode(bytes)
    const dims = decoded.graph!.input![0].type!.tensorType!.shape!.dim!.map((d) =>
      d.dimParam ? d.dimParam : Number(d.dimValue),
    )
    expect(readOnnxInput(source(bytes)).dims).toEqual(dims)
  })
  it('refuses what is not a model', () => {
    expect(() => readOnnxInput(source(new TextEncoder().encode('tag_id,name\n')))).toThrow(OnnxFormatError)
    const model = tinyTagger()
    expect(() => readOnnxInput(source(model.subarray(0, model.length - 10)))).toThrow(OnnxFormatError)
  })
  it('gives the square size of NHWC and NCHW inputs only', () => {
    expect(imageInputSize([1, 3, 224, 224])).toBe(224)
    expect(imageInputSize([1, 448, 320, 3])).toBeNull()
    expect(imageInputSize([1, 448])).toBeNull()
  })
})

describe('userCacheDir', () => {
  it('follows LORA_CACHE_DIR, XDG_CACHE_HOME (absolute only), LOCALAPPDATA on Windows', () => {
    expect(userCacheDir({}, 'linux', '/home/u')).toBe('/home/u/.cache/lora')
    expect(userCacheDir({XDG_CACHE_HOME: '/x'}, 'linux', '/home/u')).toBe('/x/lora')
    expect(userCacheDir({XDG_CACHE_HOME: 'rel'}, 'linux', '/home/u')).toBe('/home/u/.cache/lora')
    expect(userCacheDir({LORA_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x'}, 'darwin', '/Users/u')).toBe('/c')
    expect(userCacheDir({LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local'}, 'win32', 'C:\\Users\\u')).toBe(
      'C:\\Users\\u\\AppData\\Local\\lora',
    )
  })
})

describe('readModelManifest', () => {
  it('reads no lora-model.json that is a FIFO (it would wait for a writer for good) or a link', async () => {
    const dir = await makeTemp('lora-manifest-')
    const manifest = join(dir, 'lora-model.json')
    execFileSync('mkfifo', [manifest])
    expect(await readModelManifest(dir)).toBeUndefined()
    await fsp.rm(manifest)
    await fsp.writeFile(join(dir, 'elsewhere.json'), JSON.stringify({version: 1, files: []}))
    await fsp.symlink(join(dir, 'elsewhere.json'), manifest)
    expect(await readModelManifest(dir)).toBeUndefined()
    await fsp.rm(manifest)
    await fsp.rename(join(dir, 'elsewhere.json'), manifest)
    expect(await readModelManifest(dir)).toEqual({version: 1, files: []})
    await removeTemp(dir)
  })
})
