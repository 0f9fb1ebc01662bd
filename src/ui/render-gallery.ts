/**
 * The human form of `lora gallery` (services/gallery.ts): where the page is, what was made, and the images shown
 * without a thumbnail, on stderr (messages; the page's path is the data and goes to stdout).
 */
import {escapeControls as esc} from '../core/terminal-text.js'
import type {GalleryReport} from '../services/gallery.js'
import type {Terminal} from './terminal.js'
import {counted} from '../core/plural.js'

/** Prints the page's path on stdout, and what was made on stderr. */
export function renderGallery(term: Terminal, r: GalleryReport): void {
  const t = r.thumbnails
  term.info(
    `Gallery of ${counted(r.images, 'image')}: ${counted(t.made, 'thumbnail')} made, ${t.cached} already there${t.removed ? `, ${t.removed} no longer needed removed` : ''}.`,
  )
  for (const p of r.problems) term.warn(`${esc(p.id)}: shown without a thumbnail, ${esc(p.reason)}`)
  term.out(esc(r.page))
}
