import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {LoraError} from '../errors.js'
import {openInBrowser} from '../adapters/browser.js'
import type {ImageStatus} from '../core/state.js'
import {DEFAULT_THUMB_SIZE, type GalleryReport, makeGallery, THUMB_SIZE_RANGE} from '../services/gallery.js'
import {renderGallery} from '../ui/render-gallery.js'

export default class Gallery extends BaseCommand<typeof Gallery> {
  static summary = 'Write a static web page of the whole dataset: thumbnails, statuses, captions, tags.'
  static description = `One index.html that works from file:// offline (no server, nothing loaded from the network), with WebP thumbnails beside it cached by image sha256 (a second run makes only those of new or changed images). DEST defaults to .lora-tagger/gallery/; another DEST must lie outside the dataset folder. --json gives a stable shape (README "lora gallery").`
  static examples = [
    '<%= config.bin %> gallery --open',
    '<%= config.bin %> gallery ../ds-gallery --thumb-size 384',
    '<%= config.bin %> gallery --status pending --json',
  ]
  static args = {
    dest: Args.string({
      description: 'Folder for the page and its thumbnails (default .lora-tagger/gallery/)',
      required: false,
      ignoreStdin: true,
    }),
  }
  static flags = {
    open: Flags.boolean({summary: 'Open the page in the default web browser when it is written.'}),
    'thumb-size': Flags.integer({
      summary: `Thumbnails' longer side in pixels (${THUMB_SIZE_RANGE.min}-${THUMB_SIZE_RANGE.max}).`,
      default: DEFAULT_THUMB_SIZE,
      min: THUMB_SIZE_RANGE.min,
      max: THUMB_SIZE_RANGE.max,
    }),
    status: Flags.string({
      summary: 'Only images of this status (repeatable).',
      options: ['tagged', 'auto', 'skipped', 'pending'],
      multiple: true,
      // `--status pending ../dest`: one value per --status, so DEST after it stays DEST.
      multipleNonGreedy: true,
    }),
  }

  async run(): Promise<GalleryReport> {
    const {flags, args} = this
    const report = await makeGallery(await this.dataset(), {
      dest: args.dest,
      cwd: process.cwd(),
      thumbSize: flags['thumb-size'],
      status: flags.status as ImageStatus[] | undefined,
      progress: (label, total) => this.term.progress(label, total),
    })
    if (!this.jsonEnabled()) renderGallery(this.term, report)
    if (flags.open) {
      try {
        await openInBrowser(report.page)
      } catch (error) {
        throw new LoraError(`The gallery was written, but no browser could be opened: ${(error as Error).message}`, {
          code: 'open-failed',
          exitCode: 1,
          hint: `Open ${report.page} in a browser yourself.`,
        })
      }
    }
    return report
  }
}
