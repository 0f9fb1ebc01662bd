/**
 * Whether a caption is still the one `lora autotag` wrote (issue 14: the `auto` status), read from the dataset's
 * history: what `lora repair` (state.json lost) and `lora status --rescan` (captions changed behind the state) use
 * to keep an image `auto` rather than call it reviewed (`tagged`).
 */
import {relative, sep} from 'node:path'
import {TRAILER_CHANGE} from '../core/commit-message.js'
import {GitRepo, statusPaths} from '../adapters/git.js'
import type {Dataset} from '../store/dataset.js'

/**
 * The image files (names in the output folder, as in state.json) among `imageFiles` whose caption file is still as
 * a `lora autotag` commit wrote it: the newest commit touching the caption has `Lora-Change: autotag`, and the
 * caption has no change since (none staged, none in the work tree). Empty without dataset history (no repository
 * or no commit yet): then nothing tells a model's caption from a person's. Two git processes, whatever the count.
 * @throws GitError when git fails on an existing repository
 */
export async function captionsStillAutotagged(dataset: Dataset, imageFiles: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>()
  if (imageFiles.length === 0) return found
  const repo = await GitRepo.open(dataset.root, dataset.gitFolders)
  if (!repo || !(await repo.hasHead())) return found
  const toGit = (path: string) => relative(repo.top, path).split(sep).join('/')
  const output = toGit(dataset.paths.output) || '.'
  const byCaption = new Map(imageFiles.map((file) => [toGit(dataset.imagePath(dataset.captionFile(file))), file]))
  // Newest first: the first commit that names a caption decides for it.
  const log = await repo.run(
    [
      '-c',
      'core.quotePath=false',
      'log',
      `--format=%x1e%(trailers:key=${TRAILER_CHANGE},valueonly,separator=%x2c)`,
      '--name-only',
      '--no-renames',
      '--',
      output,
    ],
    'read the history of the captions',
  )
  const decided = new Set<string>()
  for (const entry of log.split('\x1e').slice(1)) {
    const [kind, ...files] = entry.split('\n')
    for (const file of files) {
      if (file === '' || decided.has(file) || !byCaption.has(file)) continue
      decided.add(file)
      if (kind.trim() === 'autotag') found.add(byCaption.get(file)!)
    }
  }
  if (found.size === 0) return found
  // Changed since (staged or not): a person's edit, or a write not committed. `--branch`: git always prints (its `##`
  // line, left out), so simple-git does not wait 50 ms after it (see adapters/git.ts `client`).
  const status = await repo.run(
    ['status', '--porcelain=v1', '-z', '--branch', '--untracked-files=no', '--', output],
    'read the state of the captions',
  )
  for (const path of statusPaths(status)) {
    const file = byCaption.get(path)
    if (file !== undefined) found.delete(file)
  }
  return found
}
