/**
 * HTTP for downloads from the Hugging Face Hub (`lora models pull`): the one module that uses `fetch` (Node's
 * built-in, undici). It asks and streams; writing the bytes is the fs adapter's job (services/models.ts joins them).
 *
 * How the hub describes a file, as huggingface_hub reads it (`file_download.py`, `get_hf_file_metadata`): a HEAD of
 * `{endpoint}/{repo}/resolve/{revision}/{file}` that follows redirects only on the same host (a renamed
 * repository) and not to the CDN. For a file stored with LFS the hub answers `302` to the CDN, and that answer
 * carries `X-Linked-Etag` (the sha256 of the content) and `X-Linked-Size` (its size in bytes); for a file stored in
 * git it answers `200` with `ETag` (the git blob id) and `Content-Length`. huggingface_hub takes
 * `X-Linked-Etag or ETag` and `X-Linked-Size or Content-Length`, as `headFile` does; `X-Repo-Commit` is the commit
 * the revision resolved to. `Accept-Encoding: identity` is sent (as huggingface_hub does) so that sizes and byte
 * ranges are those of the file itself, never of a compressed transfer.
 *
 * `Authorization: Bearer <token>` is sent when a token is given (HF_TOKEN); fetch drops it on a redirect to another
 * origin (the CDN), as the Fetch standard says.
 */

/** What a HEAD of a file's resolve URL said. */
export interface RemoteFile {
  /** The HTTP status of the answer that describes the file (2xx, or the 3xx to the CDN); errors are 4xx/5xx. */
  status: number
  /** `X-Linked-Etag` or `ETag`, raw (core/model-names.ts normalizeEtag). */
  etag: string | undefined
  /** `X-Linked-Size` or `Content-Length`, in bytes; undefined when absent or not a number. */
  size: number | undefined
  /** `X-Repo-Commit`. */
  commit: string | undefined
  /** `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`, `GatedRepo`) on an error answer. */
  errorCode: string | undefined
  /** `X-Error-Message` on an error answer. */
  errorMessage: string | undefined
}

/** The answer to a GET: status, where the body starts and the total size (`Content-Range`), and the body. */
export interface Transfer {
  status: number
  /** The offset of the body's first byte in the file: the start of `Content-Range` for a 206, else 0. */
  start: number
  /** The file's total size when stated (`Content-Range: bytes a-b/total`, or `Content-Length` of a 200). */
  total: number | undefined
  /** The body, chunk by chunk; iterating it throws a NetworkFailure when the connection breaks. */
  body: AsyncIterable<Uint8Array>
  /** Error details as in RemoteFile, for a 4xx/5xx. */
  errorCode: string | undefined
  errorMessage: string | undefined
  /** Discards the body (an answer not used). */
  cancel(): Promise<void>
}

/**
 * The network failed: no connection, a reset, a transfer cut in the middle. `received` is how many body bytes
 * arrived before it (for a GET).
 */
export class NetworkFailure extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly cause?: unknown,
  ) {
    super(message)
  }
}

/** The request headers for the hub: identity encoding, and the token when given. */
function headers(token: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'accept-encoding': 'identity',
    'user-agent': 'lora-tagger',
    ...(token ? {authorization: `Bearer ${token}`} : {}),
    ...extra,
  }
}

/** The reason under a fetch failure (`ECONNREFUSED`, `ECONNRESET`, `UND_ERR_SOCKET`, ...), for messages. */
function reason(error: unknown): string {
  const cause = (error as {cause?: {code?: string; message?: string}}).cause
  return cause?.code ?? cause?.message ?? (error as Error).message
}

function intHeader(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined
  return Number(value.trim())
}

/**
 * HEADs `url`, following redirects to the same origin only (at most 10), and reads the file's description (see the
 * file comment).
 * @throws NetworkFailure when the server cannot be reached
 */
export async function headFile(url: string, token: string | undefined): Promise<RemoteFile> {
  let current = url
  for (let hops = 0; ; hops++) {
    let res: Response
    try {
      res = await fetch(current, {method: 'HEAD', headers: headers(token), redirect: 'manual'})
    } catch (error) {
      throw new NetworkFailure(`cannot reach ${new URL(current).origin} (${reason(error)})`, current, error)
    }
    const h = res.headers
    const location = h.get('location')
    if (res.status >= 300 && res.status < 400 && location && hops < 10) {
      const next = new URL(location, current)
      // A relative (same-origin) redirect is a renamed repository: follow it. Another origin is the CDN: the
      // answer in hand is the one that describes the file.
      if (next.origin === new URL(current).origin && !h.get('x-linked-etag')) {
        current = next.href
        continue
      }
    }
    return {
      status: res.status,
      etag: h.get('x-linked-etag') ?? h.get('etag') ?? undefined,
      size: intHeader(h.get('x-linked-size')) ?? intHeader(h.get('content-length')),
      commit: h.get('x-repo-commit') ?? undefined,
      errorCode: h.get('x-error-code') ?? undefined,
      errorMessage: h.get('x-error-message') ?? undefined,
    }
  }
}

/**
 * GETs `url` from byte `offset` on (`Range: bytes=offset-` when offset > 0), following redirects.
 * @throws NetworkFailure when the server cannot be reached
 */
export async function getFile(url: string, token: string | undefined, offset: number): Promise<Transfer> {
  let res: Response
  try {
    res = await fetch(url, {
      headers: headers(token, offset > 0 ? {range: `bytes=${offset}-`} : {}),
      redirect: 'follow',
    })
  } catch (error) {
    throw new NetworkFailure(`cannot reach ${new URL(url).origin} (${reason(error)})`, url, error)
  }
  const h = res.headers
  let start = 0
  let total: number | undefined
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(h.get('content-range') ?? '')
  if (res.status === 206 && range) {
    start = Number(range[1])
    total = range[3] === '*' ? undefined : Number(range[3])
  } else if (res.status === 200) {
    total = intHeader(h.get('content-length'))
  }
  const stream = res.body
  async function* body(): AsyncGenerator<Uint8Array> {
    if (!stream) return
    try {
      for await (const chunk of stream) yield chunk
    } catch (error) {
      throw new NetworkFailure(`the transfer was cut (${reason(error)})`, url, error)
    }
  }
  return {
    status: res.status,
    start,
    total,
    body: body(),
    errorCode: h.get('x-error-code') ?? undefined,
    errorMessage: h.get('x-error-message') ?? undefined,
    cancel: async () => {
      await stream?.cancel().catch(() => undefined)
    },
  }
}
