/**
 * A stand-in for the Hugging Face Hub on 127.0.0.1 for `lora models` tests (nothing from the internet), and a tiny
 * WD14-shaped tagger built with onnx-proto.
 *
 * The hub answers as huggingface.co does (huggingface_hub `get_hf_file_metadata` reads these headers): a file
 * stored with LFS (`model.onnx`) is a `302` from `/{owner}/{name}/resolve/{revision}/{file}` to a CDN on another
 * origin (a second server), the redirect carrying `X-Linked-Etag: "<sha256>"`, `X-Linked-Size` and
 * `X-Repo-Commit`; the CDN serves the bytes with `Content-Length`, `Accept-Ranges: bytes` and answers
 * `Range: bytes=N-` with `206` and `Content-Range`. A file stored in git (`selected_tags.csv`) is a `200` with
 * `ETag: "<git blob sha1>"` and `Content-Length`. Errors carry `X-Error-Code` as the hub's do.
 *
 * A hostile hub: a file marked `endless` is described (HEAD) with its body's size, but its GET sends the body and
 * then goes on sending (chunked, no Content-Length) until the client goes away or ENDLESS_STOP bytes are out, so a
 * client that does not stop cannot fill the disk in a test.
 */
import {createHash} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import onnxProto from 'onnx-proto'

const {onnx} = onnxProto

/** A request the hub or CDN received. */
export interface SeenRequest {
  server: 'hub' | 'cdn'
  method: string
  path: string
  range: string | undefined
  authorization: string | undefined
}

/** One file of a repository. */
export interface HubFile {
  body: Buffer
  /** Stored with LFS: served through the CDN redirect with X-Linked-Etag (else ETag = git blob id). */
  lfs: boolean
  /** The sha256 the hub states (default: the body's): a wrong one tests the checksum refusal. */
  statedSha256?: string
  /** The GET's body never ends: the body, then more bytes, up to ENDLESS_STOP (the HEAD still states the body's size). */
  endless?: boolean
}

/** Where an `endless` GET stops sending: 50 MB. */
export const ENDLESS_STOP = 50 * 1024 * 1024

/** How the hub behaves; tests change it between runs. */
export interface HubBehaviour {
  /** `owner/name@revision/file` → the file. */
  files: Map<string, HubFile>
  /** The next GET of this file path (`owner/name@revision/file`) from the CDN is cut after this many bytes. */
  cutAfter: Map<string, number>
  /** Every resolve request answers this status (with `errorCode` as X-Error-Code). */
  status?: {code: number; errorCode?: string}
  /** Only answer with this token (`Authorization: Bearer <token>`); else 401. */
  token?: string
  /** Bytes each `endless` GET has sent so far, by file path (`owner/name@revision/file`), the last GET's. */
  sent: Map<string, number>
}

/** The running hub: its URL (HF_ENDPOINT), what it saw, and how to stop it. */
export interface Hub {
  endpoint: string
  behaviour: HubBehaviour
  requests: SeenRequest[]
  close(): Promise<void>
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/** The git blob id of `data` (`git hash-object`), the ETag the hub gives files stored in git. */
export function gitBlobId(data: Buffer): string {
  return createHash('sha1')
    .update(Buffer.concat([Buffer.from(`blob ${data.length}\0`), data]))
    .digest('hex')
}

/**
 * A valid ONNX model shaped like a WD14 tagger: input `input_1:0` float32 `[batch, size, size, 3]` (a symbolic batch
 * dimension, as the real ones have) → ReduceMean over H and W → MatMul with a `[3, tags]` weight → Sigmoid: one
 * score per tag. The weight is an initializer, so it lies before the graph's inputs in the file, as in real models.
 */
export function tinyTagger(options: {size?: number; tags?: number} = {}): Buffer {
  const size = options.size ?? 448
  const tags = options.tags ?? 12
  const weights = Float32Array.from({length: 3 * tags}, (_, i) => ((i % 7) - 3) / 10)
  const dim = (d: number | string) => (typeof d === 'number' ? {dimValue: d} : {dimParam: d})
  const tensor = (name: string, dims: (number | string)[]) => ({
    name,
    type: {tensorType: {elemType: onnx.TensorProto.DataType.FLOAT, shape: {dim: dims.map(dim)}}},
  })
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'lora-test',
    opsetImport: [{domain: '', version: 13}],
    graph: {
      name: 'tiny-tagger',
      initializer: [
        {
          name: 'W',
          dims: [3, tags],
          dataType: onnx.TensorProto.DataType.FLOAT,
          rawData: new Uint8Array(weights.buffer),
        },
      ],
      node: [
        {
          opType: 'ReduceMean',
          input: ['input_1:0'],
          output: ['mean'],
          attribute: [
            {name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 2]},
            {name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0},
          ],
        },
        {opType: 'MatMul', input: ['mean', 'W'], output: ['logits']},
        {opType: 'Sigmoid', input: ['logits'], output: ['predictions_sigmoid']},
      ],
      input: [tensor('input_1:0', ['batch', size, size, 3])],
      output: [tensor('predictions_sigmoid', ['batch', tags])],
    },
  })
  return Buffer.from(onnx.ModelProto.encode(model).finish())
}

/** A selected_tags.csv of `tags` rows: 4 ratings (category 9), then general (0) and character (4) tags. */
export function selectedTags(tags = 12): Buffer {
  const rows = ['tag_id,name,category,count']
  for (let i = 0; i < tags; i++) {
    const category = i < 4 ? 9 : i % 5 === 0 ? 4 : 0
    const name = i < 4 ? ['general', 'sensitive', 'questionable', 'explicit'][i] : `tag_${i}`
    rows.push(`${9999 - i},${name},${category},${1000 - i}`)
  }
  return Buffer.from(rows.join('\n') + '\n')
}

/** Starts the hub and its CDN on 127.0.0.1 (ephemeral ports). */
export async function startHub(): Promise<Hub> {
  const behaviour: HubBehaviour = {files: new Map(), cutAfter: new Map(), sent: new Map()}
  const requests: SeenRequest[] = []
  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }
  const seen = (server: 'hub' | 'cdn', req: IncomingMessage) =>
    requests.push({
      server,
      method: req.method ?? '',
      path: req.url ?? '',
      range: req.headers.range,
      authorization: req.headers.authorization,
    })

  const cdn = createServer((req, res) => {
    seen('cdn', req)
    const key = decodeURIComponent((req.url ?? '').replace(/^\/cdn\//, ''))
    const file = behaviour.files.get(key)
    if (!file) return void res.writeHead(404).end()
    if (file.endless && req.method === 'GET') return sendEndless(res, file.body, behaviour.sent, key)
    serveBytes(req, res, file.body, behaviour.cutAfter, key)
  })
  const cdnUrl = await listen(cdn)

  const hub = createServer((req, res) => {
    seen('hub', req)
    const match = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/([^/]+)$/.exec(req.url ?? '')
    if (!match) return void res.writeHead(404, {'x-error-code': 'RepoNotFound'}).end()
    const [, owner, name, revision, file] = match.map((s) => decodeURIComponent(s))
    const commit = 'c0ffee' + '0'.repeat(34)
    if (behaviour.status)
      return void res
        .writeHead(behaviour.status.code, {
          ...(behaviour.status.errorCode ? {'x-error-code': behaviour.status.errorCode} : {}),
          'x-error-message': 'test hub says no',
        })
        .end()
    if (behaviour.token !== undefined && req.headers.authorization !== `Bearer ${behaviour.token}`)
      return void res.writeHead(401, {'x-error-code': 'GatedRepo', 'x-error-message': 'Access restricted'}).end()
    const key = `${owner}/${name}@${revision}/${file}`
    const entry = behaviour.files.get(key)
    if (!entry) return void res.writeHead(404, {'x-error-code': 'EntryNotFound'}).end()
    if (entry.lfs) {
      res
        .writeHead(302, {
          location: `${cdnUrl}/cdn/${encodeURIComponent(key)}`,
          'x-linked-etag': `"${entry.statedSha256 ?? sha256Hex(entry.body)}"`,
          'x-linked-size': String(entry.body.length),
          'x-repo-commit': commit,
          etag: '"not-the-sha"',
        })
        .end()
      return
    }
    res.setHeader('etag', `"${gitBlobId(entry.body)}"`)
    res.setHeader('x-repo-commit', commit)
    serveBytes(req, res, entry.body, behaviour.cutAfter, key)
  })
  const endpoint = await listen(hub)
  const close = (server: Server) =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return {endpoint, behaviour, requests, close: async () => void (await Promise.all([close(hub), close(cdn)]))}
}

/** Serves `body` (HEAD, GET, `Range: bytes=N-`), cutting the connection after the planned number of bytes. */
function serveBytes(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  cutAfter: Map<string, number>,
  key: string,
): void {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
  const start = range ? Number(range[1]) : 0
  if (start > body.length || (range && start === body.length)) {
    res.writeHead(416, {'content-range': `bytes */${body.length}`}).end()
    return
  }
  const part = body.subarray(start)
  res.writeHead(range ? 206 : 200, {
    'content-length': String(part.length),
    'accept-ranges': 'bytes',
    'content-type': 'application/octet-stream',
    ...(range ? {'content-range': `bytes ${start}-${body.length - 1}/${body.length}`} : {}),
  })
  if (req.method === 'HEAD') return void res.end()
  const cut = cutAfter.get(key)
  if (cut !== undefined) {
    cutAfter.delete(key)
    // The bytes leave, then the connection dies, as a dropped connection mid-transfer does.
    res.write(part.subarray(0, cut), () => res.socket?.destroy())
    return
  }
  res.end(part)
}

/**
 * Answers a GET with `body` and then more bytes, without Content-Length, until the client goes away or ENDLESS_STOP
 * bytes are out (waiting for the socket to drain, so what `sent` records is what left, give or take the buffers).
 */
function sendEndless(res: ServerResponse, body: Buffer, sent: Map<string, number>, key: string): void {
  res.writeHead(200, {'content-type': 'application/octet-stream'})
  const filler = Buffer.alloc(64 * 1024, 0x2a)
  let out = 0
  sent.set(key, 0)
  const pump = () => {
    while (out < ENDLESS_STOP) {
      if (res.destroyed) return
      const chunk = out === 0 ? body : filler
      out += chunk.length
      sent.set(key, out)
      if (!res.write(chunk)) return void res.once('drain', pump)
    }
    res.end()
  }
  pump()
}
