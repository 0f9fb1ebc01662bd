/**
 * Names of tagger models pulled from the Hugging Face Hub (`lora models pull|list|rm`): repository ids, revisions,
 * the cache folders they map to, and the hub's ETag header. Pure: no I/O.
 *
 * A model's files live in `<models cache>/<owner>--<name>/<revision folder>/` (README "Models"). The mapping is
 * one-to-one: a repository id never holds `--` (the hub's rule, below), and the revision folder is the revision
 * percent-encoded (`refs/pr/1` → `refs%2Fpr%2F1`), so no name can reach outside its folder.
 */
import {UsageError} from '../errors.js'

/** The files a WD14-family tagger folder holds (the layout `lora autotag --model` reads). */
export const MODEL_FILES = ['model.onnx', 'selected_tags.csv'] as const

/** The manifest `lora models pull` writes beside the model files (repo, revision, commit, file checksums). */
export const MODEL_MANIFEST = 'lora-model.json'

/** The header a WD14 `selected_tags.csv` starts with. */
export const SELECTED_TAGS_HEADER = ['tag_id', 'name', 'category', 'count'] as const

/** A hub repository id, `owner/name`. */
export interface RepoId {
  owner: string
  name: string
}

/** One part of a repository id: letters, digits, `-`, `_`, `.`; not starting or ending with `-` or `.`. */
const PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/

/**
 * Parses `OWNER/NAME`, the hub's rule for repository ids (huggingface_hub `validate_repo_id`: letters, digits, `-`,
 * `_`, `.`; `--` and `..` forbidden; `-` and `.` neither first nor last; at most 96 characters), with exactly one
 * slash. So the id maps to one folder name and never to a path outside the models cache.
 * @throws UsageError naming what is wrong, with the expected form as the hint
 */
export function parseRepoId(text: string): RepoId {
  const hint = 'Give the Hugging Face repository as OWNER/NAME, e.g. SmilingWolf/wd-vit-tagger-v3.'
  const parts = text.split('/')
  if (parts.length !== 2)
    throw new UsageError(`"${printable(text)}" is not a model repository (OWNER/NAME, one slash).`, hint)
  for (const part of parts) {
    if (!PART.test(part) || part.includes('--') || part.includes('..') || part.length > 96)
      throw new UsageError(
        `"${printable(text)}" is not a valid repository id: each part holds letters, digits, "-", "_" and "."; no "--" or ".."; "-" and "." not at either end.`,
        hint,
      )
  }
  return {owner: parts[0], name: parts[1]}
}

/** `owner/name`. */
export function repoIdText(repo: RepoId): string {
  return `${repo.owner}/${repo.name}`
}

/**
 * Checks a revision (a branch, tag or commit: `main`, `v1.0`, `refs/pr/1`, a 40-hex commit): letters, digits,
 * `.`, `_`, `-` and `/` between segments, starting with a letter or digit, no empty, `.` or `..` segment, at most
 * 200 characters.
 * @returns the revision
 * @throws UsageError
 */
export function parseRevision(text: string): string {
  const ok =
    /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(text) &&
    text.length <= 200 &&
    text.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
  if (!ok)
    throw new UsageError(
      `"${printable(text)}" is not a revision: a branch, tag or commit (letters, digits, ".", "_", "-", "/" between parts).`,
      'For example --revision main, --revision v2.0 or a commit hash.',
    )
  return text
}

/** The folder of a model's revisions in the models cache: `owner--name`. */
export function modelFolderName(repo: RepoId): string {
  return `${repo.owner}--${repo.name}`
}

/** The repository id of a folder `owner--name`, or undefined when the name is not one. */
export function repoFromFolderName(folder: string): RepoId | undefined {
  const at = folder.indexOf('--')
  if (at <= 0) return undefined
  const text = `${folder.slice(0, at)}/${folder.slice(at + 2)}`
  try {
    return parseRepoId(text)
  } catch {
    return undefined
  }
}

/** The folder of one revision: the revision percent-encoded (`main`, `refs%2Fpr%2F1`). */
export function revisionFolderName(revision: string): string {
  return encodeURIComponent(revision)
}

/** The revision a revision folder holds, or undefined when the name is not one (a staging folder, `.…`). */
export function revisionFromFolderName(folder: string): string | undefined {
  if (folder.startsWith('.')) return undefined
  try {
    return parseRevision(decodeURIComponent(folder))
  } catch {
    return undefined
  }
}

/** The staging folder of a pull of `revision`, beside its final folder (starts with `.`: never a revision). */
export function stagingFolderName(revision: string): string {
  return `.partial-${revisionFolderName(revision)}`
}

/**
 * `{endpoint}/{owner}/{name}/resolve/{revision}/{file}`, the hub's download URL (huggingface_hub `hf_hub_url`; the
 * revision percent-encoded, as it does). `endpoint` is `HF_ENDPOINT` or `https://huggingface.co`, without a
 * trailing slash.
 */
export function resolveUrl(endpoint: string, repo: RepoId, revision: string, file: string): string {
  return `${endpoint.replace(/\/+$/, '')}/${repo.owner}/${repo.name}/resolve/${encodeURIComponent(revision)}/${file}`
}

/**
 * The value of an ETag header without the weak prefix and the quotes (`W/"abc"` → `abc`), as huggingface_hub's
 * `_normalize_etag` does; undefined for a missing header.
 */
export function normalizeEtag(header: string | null | undefined): string | undefined {
  if (header === null || header === undefined) return undefined
  const value = header
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1')
  return value === '' ? undefined : value
}

/**
 * The sha256 an ETag states, when it states one: the hub's ETag of a file stored with LFS (or Xet) is the
 * sha256 of its content, 64 hex digits; a file stored in git has its git blob id instead (40 hex digits), which is
 * not a sha256 (undefined).
 */
export function sha256FromEtag(etag: string | undefined): string | undefined {
  return etag !== undefined && /^[0-9a-f]{64}$/i.test(etag) ? etag.toLowerCase() : undefined
}

/** The text with control characters shown as `\xNN`, for an error message quoting what was typed. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`)
}
