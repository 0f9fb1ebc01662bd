/** Human views of `lora models pull|list|rm` reports, and the download progress line. */
import {dirname} from 'node:path'
import type {Terminal} from './terminal.js'
import {escapeControls as esc} from '../core/terminal-text.js'
import type {DownloadProgress, ModelList, PullReport, RemoveReport} from '../services/models.js'

/** `1.2 GB`, `310 kB`, `12 B` (decimal units, as the hub shows sizes). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`
}

/**
 * A one-line progress display on stderr (`model.onnx  42%  520 MB / 1.2 GB`), redrawn at most every 100 ms, when
 * stderr is a terminal; nothing otherwise. `done` clears the line.
 */
export function downloadProgress(term: Terminal): {onProgress: (p: DownloadProgress) => void; done: () => void} {
  if (!term.stderrIsTTY) return {onProgress: () => undefined, done: () => undefined}
  let last = 0
  let shown = false
  return {
    onProgress(p) {
      const now = Date.now()
      if (now - last < 100 && p.received !== p.total) return
      last = now
      const pct = p.total ? `${String(Math.floor((p.received / p.total) * 100)).padStart(3)}%  ` : ''
      const size = p.total ? `${formatBytes(p.received)} / ${formatBytes(p.total)}` : formatBytes(p.received)
      term.stderr.write(`\r\x1b[2K${p.file}  ${pct}${size}`)
      shown = true
    },
    done() {
      if (shown) term.stderr.write('\r\x1b[2K')
    },
  }
}

/** `lora models pull`: the model's folder on stdout; what was done on stderr. */
export function renderPull(term: Terminal, r: PullReport): void {
  term.out(esc(r.path))
  const commit = r.commit ? `, commit ${esc(r.commit.slice(0, 12))}` : ''
  if (r.upToDate) {
    term.info(`${esc(r.name)} (${esc(r.revision)}${commit}) is already up to date.`)
    return
  }
  const files = r.files
    .map(
      (f) =>
        `${f.file} ${formatBytes(f.bytes)}${f.verified ? ' (sha256 verified)' : ''}${f.resumedFrom > 0 ? ` (resumed at ${formatBytes(f.resumedFrom)})` : ''}`,
    )
    .join(', ')
  term.info(`Pulled ${esc(r.name)} (${esc(r.revision)}${commit}): ${files}.`)
}

/** `lora models list`: a table on stdout (name, revision, size, input size, tags), or a message when empty. */
export function renderModelList(term: Terminal, list: ModelList): void {
  if (list.models.length === 0) {
    term.info(
      `No models pulled yet (cache: ${esc(list.cache)}). Try \`lora models pull SmilingWolf/wd-vit-tagger-v3\`.`,
    )
    return
  }
  const rows = [
    ['NAME', 'REVISION', 'SIZE', 'INPUT', 'TAGS'],
    ...list.models.map((m) => [
      esc(m.name),
      esc(m.revision),
      formatBytes(m.bytes),
      m.inputSize === null ? '?' : `${m.inputSize}×${m.inputSize}`,
      String(m.tags),
    ]),
  ]
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  for (const row of rows)
    term.out(
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
}

/** `lora models rm` (stderr). */
export function renderRemoved(term: Terminal, r: RemoveReport): void {
  for (const m of r.removed)
    term.info(
      m.revision === null
        ? `Removed an unfinished download of ${esc(m.name)}.`
        : `Removed ${esc(m.name)} (${esc(m.revision)}).`,
    )
  const copies = r.optimizedCopies
  if (copies.length > 0) {
    const bytes = copies.reduce((sum, c) => sum + c.bytes, 0)
    term.info(
      `Removed ${copies.length === 1 ? 'its optimised copy' : `${copies.length} optimised copies`} (${formatBytes(bytes)}) from ${esc(dirname(copies[0].path))}.`,
    )
  }
}
