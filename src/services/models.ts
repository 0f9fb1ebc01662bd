/**
 * Tagger models in the user's cache (`lora models pull|list|rm`; README "Models"): WD14-family taggers downloaded
 * from the Hugging Face Hub, one folder per model and revision holding `model.onnx` and `selected_tags.csv` (the
 * layout `lora autotag --model` reads), plus `lora-model.json` (MODEL_MANIFEST: where it came from, checksums).
 *
 * ```
 * <cache>/models/                      userCacheDir()/models (README "Models": where)
 *   SmilingWolf--wd-vit-tagger-v3/     owner--name (core/model-names.ts)
 *     main/                            the revision, percent-encoded; only complete, verified pulls have one
 *       model.onnx  selected_tags.csv  lora-model.json
 *     .partial-main/                   a pull under way or interrupted: `<file>.<etag>.part` files, resumed
 * ```
 *
 * A pull downloads into the staging folder; each file is resumed from its `.part` file with an HTTP Range
 * request, checked against the size and the sha256 the hub states (adapters/http-download.ts), renamed to its
 * name in the staging folder, and when every file is there and the pair is readable as a tagger, the staging
 * folder is renamed to the revision's folder. So nothing appears under a model's final name unless complete.
 */
import {join, sep} from 'node:path'
import {ModelError} from '../errors.js'
import {
  fsyncDir,
  isCode,
  listDirEntries,
  lstatIfExistsSync,
  makeDir,
  openAppendFile,
  openByteSource,
  readTextIfExists,
  removeFile,
  removeTree,
  renameOwned,
  resolveReal,
  sha256File,
  statIfExists,
  writeFileAtomic,
} from '../adapters/fs.js'
import {getFile, headFile, NetworkFailure, type RemoteFile} from '../adapters/http-download.js'
import {removeCopiesOf} from '../adapters/optimized-model.js'
import {MODEL_FILE, type ModelManifest, modelsCacheDir, optimizedModelsDir, readModelManifest} from '../store/models.js'
import {
  MODEL_FILES,
  MODEL_MANIFEST,
  modelFolderName,
  normalizeEtag,
  parseRepoId,
  parseRevision,
  type RepoId,
  repoFromFolderName,
  repoIdText,
  resolveUrl,
  revisionFolderName,
  revisionFromFolderName,
  SELECTED_TAGS_HEADER,
  sha256FromEtag,
  stagingFolderName,
} from '../core/model-names.js'
import {imageInputSize, type OnnxInput, OnnxFormatError, readOnnxInput} from '../core/onnx-shape.js'

/** The hub used when `HF_ENDPOINT` is not set. */
export const DEFAULT_ENDPOINT = 'https://huggingface.co'

/** One file of a pull, in its report. */
export interface PulledFile {
  /** `model.onnx` or `selected_tags.csv`. */
  file: string
  /** Its size in bytes. */
  bytes: number
  /** The sha256 of its content (hex). */
  sha256: string
  /** True when the hub stated a sha256 (an LFS file) and it matched; false when the hub stated none. */
  verified: boolean
  /** Bytes downloaded by this run (0 when already up to date). */
  downloaded: number
  /** Where the download resumed (bytes kept from an earlier, interrupted run); 0 for a fresh download. */
  resumedFrom: number
}

/** `lora models pull --json`. */
export interface PullReport {
  /** `owner/name`. */
  name: string
  revision: string
  /** The commit the revision resolved to (`X-Repo-Commit`), or null when the hub did not say. */
  commit: string | null
  /** The model's folder (what `lora autotag --model` takes). */
  path: string
  /** True when the folder already held these files (same ETags): nothing was downloaded. */
  upToDate: boolean
  files: PulledFile[]
}

/** A download's progress, for the terminal's progress bar. */
export interface DownloadProgress {
  file: string
  /** Bytes of the file on disk so far (resumed bytes included). */
  received: number
  /** The file's size when known. */
  total: number | undefined
}

/** The manifest a pull writes beside the files (`lora-model.json`). */

/**
 * Downloads a model's files from the hub into the models cache (see the file comment).
 * @param options.repo `OWNER/NAME`
 * @param options.revision a branch, tag or commit (default `main`)
 * @param options.env `HF_ENDPOINT`, `HF_TOKEN` and the cache variables (userCacheDir)
 * @param options.onProgress called as bytes arrive
 * @throws UsageError for a bad name or revision; ModelError (`network`, `hub-auth`, `hub-not-found`, `hub`,
 *   `checksum`, `model-invalid`); file-system errors as they come (the top level names the file)
 */
export async function pullModel(options: {
  repo: string
  revision?: string
  env?: NodeJS.ProcessEnv
  onProgress?: (progress: DownloadProgress) => void
}): Promise<PullReport> {
  const env = options.env ?? process.env
  const repo = parseRepoId(options.repo)
  const revision = parseRevision(options.revision ?? 'main')
  const endpoint = env.HF_ENDPOINT || DEFAULT_ENDPOINT
  const token = env.HF_TOKEN || undefined
  const root = modelsCacheDir(env)
  const ownerDir = join(root, modelFolderName(repo))
  const finalDir = join(ownerDir, revisionFolderName(revision))
  const stagingDir = join(ownerDir, stagingFolderName(revision))
  const context: HubContext = {repo, revision, tokenSet: token !== undefined}

  // What the hub says about each file, before anything is written.
  const remote = new Map<string, RemoteFile>()
  for (const file of MODEL_FILES) {
    const url = resolveUrl(endpoint, repo, revision, file)
    const head = await hub(() => headFile(url, token), context, file)
    if (head.status >= 400) throw hubError(head.status, head, context, file)
    remote.set(file, head)
  }
  const commit = [...remote.values()].find((r) => r.commit)?.commit ?? null

  const existing = await readModelManifest(finalDir)
  if (existing && (await sameFiles(finalDir, existing, remote))) {
    return {
      name: repoIdText(repo),
      revision,
      commit: existing.commit ?? commit,
      path: finalDir,
      upToDate: true,
      files: existing.files.map((f) => ({
        file: f.file,
        bytes: f.bytes,
        sha256: f.sha256,
        verified: sha256FromEtag(f.etag ?? undefined) === f.sha256,
        downloaded: 0,
        resumedFrom: 0,
      })),
    }
  }

  await makeDir(root)
  await containedFolder(root, ownerDir, {create: true})
  await containedFolder(root, stagingDir, {create: true})
  const files: PulledFile[] = []
  for (const file of MODEL_FILES) {
    const head = remote.get(file)!
    const etag = normalizeEtag(head.etag)
    const url = resolveUrl(endpoint, repo, revision, file)
    files.push(
      await downloadFile({
        url,
        token,
        dir: stagingDir,
        file,
        etag,
        size: head.size,
        context,
        onProgress: options.onProgress,
      }),
    )
  }
  // Every file is complete and verified: only now do they take their names (a rerun after a failure of the
  // second file keeps the first one's complete part and does not download it again).
  for (const f of files)
    await renameOwned(
      join(stagingDir, partName(f.file, normalizeEtag(remote.get(f.file)!.etag))),
      join(stagingDir, f.file),
    )
  await checkTagger(stagingDir, context)
  const manifest: ModelManifest = {
    version: 1,
    name: repoIdText(repo),
    revision,
    commit,
    pulledAt: new Date().toISOString(),
    files: files.map((f) => ({
      file: f.file,
      bytes: f.bytes,
      sha256: f.sha256,
      etag: normalizeEtag(remote.get(f.file)!.etag) ?? null,
    })),
  }
  await writeFileAtomic(join(stagingDir, MODEL_MANIFEST), JSON.stringify(manifest, null, 2) + '\n')
  await fsyncDir(stagingDir)
  // The swap: the old revision folder (an earlier pull of `main`) steps aside, the complete one takes its name.
  if (lstatIfExistsSync(finalDir)) {
    await containedFolder(root, finalDir, {create: false})
    const old = join(ownerDir, `.old-${revisionFolderName(revision)}-${process.pid}`)
    await renameOwned(finalDir, old)
    await renameOwned(stagingDir, finalDir)
    await removeTree(old)
  } else {
    await renameOwned(stagingDir, finalDir)
  }
  await fsyncDir(ownerDir)
  return {name: repoIdText(repo), revision, commit, path: finalDir, upToDate: false, files}
}

/** What error messages about one pull need. */
interface HubContext {
  repo: RepoId
  revision: string
  tokenSet: boolean
}

/** Runs a request, turning a network failure into ModelError `network`. */
async function hub<T>(request: () => Promise<T>, context: HubContext, file: string): Promise<T> {
  try {
    return await request()
  } catch (error) {
    if (error instanceof NetworkFailure) throw networkError(error, context, file)
    throw error
  }
}

function networkError(error: NetworkFailure, context: HubContext, file: string, kept = 0): ModelError {
  return new ModelError(
    'network',
    `Cannot download ${file} of ${repoIdText(context.repo)}: ${error.message}.${kept > 0 ? ` ${kept} bytes are kept.` : ''}`,
    `Check the connection (and HF_ENDPOINT, if set), then run \`lora models pull ${repoIdText(context.repo)}${context.revision === 'main' ? '' : ` --revision ${context.revision}`}\` again: it resumes where it stopped.`,
    error,
  )
}

/**
 * The ModelError for an HTTP error status, refined by the hub's `X-Error-Code` (huggingface_hub's
 * `hf_raise_for_status` reads the same header: RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo).
 */
function hubError(
  status: number,
  answer: {errorCode?: string; errorMessage?: string},
  context: HubContext,
  file: string,
): ModelError {
  const name = repoIdText(context.repo)
  const said = answer.errorMessage ? ` (the hub said: ${answer.errorMessage.slice(0, 200)})` : ''
  const tokenHint = context.tokenSet
    ? 'HF_TOKEN is set but was refused: check that the token is valid and has read access to this repository.'
    : 'If the repository is private or gated, set HF_TOKEN to a Hugging Face access token with read access (https://huggingface.co/settings/tokens).'
  if (answer.errorCode === 'RevisionNotFound')
    return new ModelError(
      'hub-not-found',
      `${name} has no revision "${context.revision}"${said}.`,
      'Check --revision (a branch, tag or commit of the repository; the default is main).',
    )
  if (
    answer.errorCode === 'EntryNotFound' ||
    (status === 404 && answer.errorCode === undefined && file !== MODEL_FILES[0])
  )
    return new ModelError(
      'hub-not-found',
      `${name} has no ${file} at revision ${context.revision}${said}.`,
      `lora pulls WD14-family taggers (a repository with ${MODEL_FILES.join(' and ')}), e.g. SmilingWolf/wd-vit-tagger-v3.`,
    )
  if (answer.errorCode === 'RepoNotFound' || status === 404)
    return new ModelError(
      'hub-not-found',
      `${name} was not found at revision ${context.revision} (HTTP ${status})${said}.`,
      `Check the name (OWNER/NAME, as on huggingface.co) and --revision. ${tokenHint}`,
    )
  if (status === 401 || status === 403)
    return new ModelError(
      'hub-auth',
      `The hub refused access to ${name} (HTTP ${status}${answer.errorCode === 'GatedRepo' ? ', a gated repository' : ''})${said}.`,
      answer.errorCode === 'GatedRepo'
        ? `Accept the repository's conditions on huggingface.co, then set HF_TOKEN to your access token. ${context.tokenSet ? 'HF_TOKEN is set: the token may lack access.' : ''}`.trim()
        : tokenHint,
    )
  return new ModelError(
    'hub',
    `The hub answered HTTP ${status} for ${file} of ${name}${said}.`,
    'Try again later; if it persists, check HF_ENDPOINT.',
  )
}

/** The `.part` file of `file` for the remote version `etag`: `<file>.<etag>.part` (etag letters and digits only). */
function partName(file: string, etag: string | undefined): string {
  const tag = (etag ?? '').replace(/[^A-Za-z0-9]/g, '').slice(0, 64) || 'unknown'
  return `${file}.${tag}.part`
}

/**
 * The most a file may take when the hub states no size at all (no `X-Linked-Size`, `Content-Length` or
 * `Content-Range` total): 20 GiB, far above the largest WD14 tagger (~1.3 GB). README "Models: Safe downloads".
 */
export const MAX_UNSTATED_BYTES = 20 * 1024 ** 3

/**
 * Downloads one file into `dir/<file>.<etag>.part`: resumes it with a Range request (a part already complete is
 * only checked), checks the size and the sha256 the hub stated; a part that fails the check is removed. Parts of
 * other remote versions are removed first. The transfer is stopped as soon as it would take the part past the size
 * stated (the HEAD's `X-Linked-Size` or `Content-Length`, the GET's `Content-Length` or `Content-Range` total; the
 * smallest of them), or past MAX_UNSTATED_BYTES when none is: a server whose body never ends cannot fill the disk.
 */
async function downloadFile(o: {
  url: string
  token: string | undefined
  dir: string
  file: string
  etag: string | undefined
  size: number | undefined
  context: HubContext
  onProgress?: (progress: DownloadProgress) => void
}): Promise<PulledFile> {
  const partPath = join(o.dir, partName(o.file, o.etag))
  for (const entry of await listDirEntries(o.dir)) {
    const stale = entry.name.startsWith(`${o.file}.`) && entry.name.endsWith('.part')
    // This version's part is resumed only when it is a regular file: a link there (or a FIFO) is not a part lora
    // wrote, and is removed (the link, never what it points to), as parts of other versions are.
    const current = entry.name === partName(o.file, o.etag)
    if ((stale && (!current || (!entry.isFile() && !entry.isDirectory()))) || entry.name === o.file)
      await removeFile(join(o.dir, entry.name))
  }
  let part = await openAppendFile(partPath)
  let resumedFrom = part.size
  let downloaded = 0
  let overflow: ModelError | undefined
  const restart = async () => {
    await part.close()
    await removeFile(partPath)
    part = await openAppendFile(partPath)
    resumedFrom = 0
  }
  try {
    if (o.size !== undefined && part.size > o.size) await restart()
    if (o.size === undefined || part.size < o.size) {
      let transfer = await hub(() => getFile(o.url, o.token, part.size), o.context, o.file)
      if (transfer.status === 416 && part.size > 0) {
        // The part no longer fits the file (it changed, or was complete): start again.
        await transfer.cancel()
        await restart()
        transfer = await hub(() => getFile(o.url, o.token, 0), o.context, o.file)
      }
      if (transfer.status >= 400) {
        await transfer.cancel()
        throw hubError(transfer.status, transfer, o.context, o.file)
      }
      if (transfer.status === 200 && part.size > 0) await restart()
      else if (transfer.status === 206 && transfer.start !== part.size) {
        await transfer.cancel()
        throw new ModelError(
          'hub',
          `The hub sent ${o.file} from byte ${transfer.start}, not from byte ${part.size} as asked.`,
          'Run the pull again; if it persists, check HF_ENDPOINT.',
        )
      } else if (transfer.status !== 200 && transfer.status !== 206) {
        await transfer.cancel()
        throw hubError(transfer.status, transfer, o.context, o.file)
      }
      const total = o.size ?? transfer.total
      const stated = [o.size, transfer.total].filter((n): n is number => n !== undefined)
      const limit = stated.length > 0 ? Math.min(...stated) : MAX_UNSTATED_BYTES
      o.onProgress?.({file: o.file, received: part.size, total})
      try {
        for await (const chunk of transfer.body) {
          if (part.size + chunk.length > limit) {
            // Leaving the loop cancels the body (and with it the connection); the part is removed below.
            overflow = tooLargeError(o.file, o.context, stated.length > 0 ? limit : undefined)
            break
          }
          await part.write(chunk)
          downloaded += chunk.length
          o.onProgress?.({file: o.file, received: part.size, total})
        }
      } catch (error) {
        if (!(error instanceof NetworkFailure)) throw error
        await part.sync()
        throw networkError(error, o.context, o.file, part.size)
      }
    }
    if (!overflow) await part.sync()
  } finally {
    await part.close()
  }
  if (overflow) {
    await removeFile(partPath)
    throw overflow
  }
  const bytes = (await statIfExists(partPath))?.size ?? 0
  if (o.size !== undefined && bytes < o.size)
    throw networkError(
      new NetworkFailure(`the transfer ended after ${bytes} of ${o.size} bytes`, o.url),
      o.context,
      o.file,
      bytes,
    )
  const sha256 = await sha256File(partPath)
  const expected = sha256FromEtag(o.etag)
  if ((o.size !== undefined && bytes !== o.size) || (expected !== undefined && sha256 !== expected)) {
    await removeFile(partPath)
    throw new ModelError(
      'checksum',
      expected !== undefined && sha256 !== expected
        ? `${o.file} of ${repoIdText(o.context.repo)} does not match the checksum the hub states (sha256 ${sha256}, expected ${expected}); the download was removed.`
        : `${o.file} of ${repoIdText(o.context.repo)} has ${bytes} bytes, the hub states ${o.size}; the download was removed.`,
      `Run \`lora models pull ${repoIdText(o.context.repo)}\` again to download it afresh; if it fails again, the hub or a proxy between is serving a damaged file.`,
    )
  }
  return {file: o.file, bytes, sha256, verified: expected !== undefined, downloaded, resumedFrom}
}

/** ModelError `checksum` for a transfer stopped past the size stated (`stated`), or past MAX_UNSTATED_BYTES. */
function tooLargeError(file: string, context: HubContext, stated: number | undefined): ModelError {
  const name = repoIdText(context.repo)
  return new ModelError(
    'checksum',
    stated === undefined
      ? `${file} of ${name} is larger than ${MAX_UNSTATED_BYTES} bytes (20 GiB), the most lora takes when the hub states no size; the download was stopped and removed.`
      : `${file} of ${name} is larger than the ${stated} bytes the hub states; the download was stopped and removed.`,
    `Run \`lora models pull ${name}\` again to download it afresh; if it fails again, the hub or a proxy between is serving a damaged file (check HF_ENDPOINT, if set).`,
  )
}

/**
 * Checks that `folder` holds a tagger lora can read: `selected_tags.csv` starting with the header
 * `tag_id,name,category,count`, and a `model.onnx` whose first input has a shape.
 * @throws ModelError `model-invalid`
 */
async function checkTagger(folder: string, context: HubContext): Promise<void> {
  const fail = (what: string) =>
    new ModelError(
      'model-invalid',
      `${repoIdText(context.repo)} is not a WD14-family tagger: ${what}. Nothing was kept under its name.`,
      'lora pulls models with model.onnx and selected_tags.csv (tag_id,name,category,count), e.g. SmilingWolf/wd-vit-tagger-v3.',
    )
  const csv = (await readTextIfExists(join(folder, MODEL_FILES[1]))) ?? ''
  const header = csv
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/, 1)[0]
    .split(',')
    .map((s) => s.trim())
  if (SELECTED_TAGS_HEADER.some((name, i) => header[i] !== name)) {
    await removeTree(folder)
    throw fail(`${MODEL_FILES[1]} does not start with ${SELECTED_TAGS_HEADER.join(',')}`)
  }
  try {
    readInput(join(folder, MODEL_FILES[0]))
  } catch (error) {
    if (!(error instanceof OnnxFormatError)) throw error
    await removeTree(folder)
    throw fail(`${MODEL_FILES[0]} is not an ONNX model (${error.message})`)
  }
}

/** The first input of an ONNX file. @throws OnnxFormatError; file-system errors */
function readInput(path: string): OnnxInput {
  const source = openByteSource(path)
  try {
    return readOnnxInput(source)
  } finally {
    source.close()
  }
}

/** True when `folder` holds every file with the size and ETag the hub states now. */
async function sameFiles(folder: string, manifest: ModelManifest, remote: Map<string, RemoteFile>): Promise<boolean> {
  for (const file of MODEL_FILES) {
    const recorded = manifest.files.find((f) => f.file === file)
    const head = remote.get(file)!
    const etag = normalizeEtag(head.etag)
    if (!recorded || etag === undefined || recorded.etag !== etag) return false
    const st = lstatIfExistsSync(join(folder, file))
    if (!st?.isFile() || st.size !== recorded.bytes || (head.size !== undefined && head.size !== st.size)) return false
  }
  return true
}

/**
 * Checks that `path` is a real folder inside `root` (not a symbolic link, nothing of it leading out), creating it
 * when asked and missing.
 * @throws ModelError `model-invalid` naming the path otherwise
 */
async function containedFolder(root: string, path: string, options: {create: boolean}): Promise<void> {
  let st = lstatIfExistsSync(path)
  if (!st && options.create) {
    await makeDir(path)
    st = lstatIfExistsSync(path)
  }
  const realRoot = resolveReal(root)
  if (!st?.isDirectory() || !resolveReal(path).startsWith(realRoot + sep))
    throw new ModelError(
      'model-invalid',
      `${path} is ${st ? (st.isSymbolicLink() ? 'a symbolic link' : 'not a folder') : 'missing'}, or not inside the models cache ${root}; lora leaves it alone.`,
      'Remove or move it by hand if lora did not make it, then run the command again.',
    )
}

/** One pulled model in `lora models list --json`. */
export interface ModelInfo {
  /** `owner/name`. */
  name: string
  revision: string
  /** The model's folder. */
  path: string
  /** Bytes of model.onnx plus selected_tags.csv. */
  bytes: number
  /** The square image size the model takes (448 for the WD14 v3 taggers), from its input shape; null if not square. */
  inputSize: number | null
  /** graph.input[0]: name and dims (numbers, symbolic names, null), or null when model.onnx cannot be read. */
  input: {name: string; dims: (number | string | null)[]} | null
  /** Rows of selected_tags.csv (the tags the model scores). */
  tags: number
  /** The commit the revision resolved to when pulled, or null. */
  commit: string | null
  /** When it was pulled (ISO 8601), or null. */
  pulledAt: string | null
}

/** `lora models list --json`: the complete pulled models, sorted by name then revision. */
export interface ModelList {
  /** The models cache folder. */
  cache: string
  models: ModelInfo[]
}

/**
 * Lists the pulled models (complete revision folders only; staging folders of interrupted pulls are not models).
 * @throws file-system errors other than a missing cache
 */
export async function listModels(env: NodeJS.ProcessEnv = process.env): Promise<ModelList> {
  const root = modelsCacheDir(env)
  const models: ModelInfo[] = []
  for (const owner of await entriesIfExists(root)) {
    const repo = owner.isDirectory() ? repoFromFolderName(owner.name) : undefined
    if (!repo) continue
    for (const rev of await entriesIfExists(join(root, owner.name))) {
      const revision = rev.isDirectory() ? revisionFromFolderName(rev.name) : undefined
      if (revision === undefined) continue
      const info = await modelInfo(join(root, owner.name, rev.name), repo, revision)
      if (info) models.push(info)
    }
  }
  models.sort((a, b) => (a.name === b.name ? a.revision.localeCompare(b.revision) : a.name.localeCompare(b.name)))
  return {cache: root, models}
}

async function entriesIfExists(dir: string) {
  try {
    return await listDirEntries(dir)
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return []
    throw error
  }
}

/** The ModelInfo of a revision folder, or undefined when it does not hold both files as regular files. */
async function modelInfo(folder: string, repo: RepoId, revision: string): Promise<ModelInfo | undefined> {
  const [onnx, csv] = MODEL_FILES.map((f) => lstatIfExistsSync(join(folder, f)))
  if (!onnx?.isFile() || !csv?.isFile()) return undefined
  let input: OnnxInput | undefined
  try {
    input = readInput(join(folder, MODEL_FILES[0]))
  } catch (error) {
    if (!(error instanceof OnnxFormatError)) throw error
  }
  const {parse} = await import('csv-parse/sync')
  const rows = parse<Record<string, string>>((await readTextIfExists(join(folder, MODEL_FILES[1]))) ?? '', {
    columns: true,
    skip_empty_lines: true,
    relax_column_count: true,
    bom: true,
  })
  const manifest = await readModelManifest(folder)
  return {
    name: repoIdText(repo),
    revision,
    path: folder,
    bytes: onnx.size + csv.size,
    inputSize: input ? imageInputSize(input.dims) : null,
    input: input ? {name: input.name, dims: input.dims} : null,
    tags: rows.length,
    commit: manifest?.commit ?? null,
    pulledAt: manifest?.pulledAt ?? null,
  }
}

/** `lora models rm --json`. */
export interface RemoveReport {
  /** What was removed: each revision folder (an interrupted pull's staging folder has revision null). */
  removed: {name: string; revision: string | null; path: string}[]
  /**
   * The optimised copies made from the removed model files (lora's cache folder, `optimized-models/<key>/`; README
   * "lora autotag"), removed with them: each copy's folder and the bytes its files held. A copy of a model file that
   * a revision still in the cache also holds is kept.
   */
  optimizedCopies: {path: string; bytes: number}[]
}

/**
 * Removes a pulled model: one revision, or (without `revision`) every revision and any interrupted pull of it, and
 * the optimised copies lora made of those model files (by the sha256 each revision's `lora-model.json` records;
 * adapters/optimized-model.ts removeCopiesOf), unless a revision that stays holds the same file.
 * Only folders inside the models cache are removed: a name is a repository id (never a path), and a folder that is
 * a symbolic link or leads out of the cache is refused.
 * @throws UsageError for a bad name or revision; ModelError `model-not-found` when nothing of it is there,
 *   `model-invalid` for a folder that is not lora's
 */
export async function removeModel(options: {
  name: string
  revision?: string
  env?: NodeJS.ProcessEnv
}): Promise<RemoveReport> {
  const repo = parseRepoId(options.name)
  const revision = options.revision === undefined ? undefined : parseRevision(options.revision)
  const root = modelsCacheDir(options.env ?? process.env)
  const ownerDir = join(root, modelFolderName(repo))
  const notFound = () =>
    new ModelError(
      'model-not-found',
      `${repoIdText(repo)}${revision === undefined ? '' : ` at revision ${revision}`} is not in the models cache ${root}.`,
      '`lora models list` shows the pulled models.',
    )
  if (!lstatIfExistsSync(ownerDir)) throw notFound()
  await containedFolder(root, ownerDir, {create: false})
  const removed: RemoveReport['removed'] = []
  const removedModels = new Set<string>()
  const keptModels = new Set<string>()
  if (revision !== undefined) {
    const folders = [revisionFolderName(revision), stagingFolderName(revision)]
    for (const name of folders) {
      const path = join(ownerDir, name)
      if (!lstatIfExistsSync(path)) continue
      await containedFolder(root, path, {create: false})
      await addModelSha(path, removedModels)
      await removeTree(path)
      removed.push({name: repoIdText(repo), revision: name.startsWith('.') ? null : revision, path})
    }
    if (removed.length === 0) throw notFound()
    const rest = await listDirEntries(ownerDir)
    if (rest.length === 0) await removeTree(ownerDir)
    for (const entry of rest) if (entry.isDirectory()) await addModelSha(join(ownerDir, entry.name), keptModels)
  } else {
    for (const entry of await listDirEntries(ownerDir)) {
      const path = join(ownerDir, entry.name)
      // A revision folder that is a link is refused, as with --revision (nothing is removed then).
      if (entry.isSymbolicLink()) await containedFolder(root, path, {create: false})
      if (!entry.isDirectory()) continue
      await addModelSha(path, removedModels)
      removed.push({name: repoIdText(repo), revision: revisionFromFolderName(entry.name) ?? null, path})
    }
    await removeTree(ownerDir)
  }
  await fsyncDir(root)
  for (const sha of keptModels) removedModels.delete(sha)
  const optimizedCopies = await removeCopiesOf(optimizedModelsDir(options.env ?? process.env), removedModels)
  return {removed, optimizedCopies}
}

/** Adds the sha256 that `folder`'s `lora-model.json` records for its model.onnx to `shas` (nothing without one). */
async function addModelSha(folder: string, shas: Set<string>): Promise<void> {
  const sha = (await readModelManifest(folder))?.files.find((f) => f.file === MODEL_FILE)?.sha256
  if (typeof sha === 'string' && /^[0-9a-f]{64}$/u.test(sha)) shas.add(sha)
}
