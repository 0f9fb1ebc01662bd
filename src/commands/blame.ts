import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {resolveImageRef} from '../core/image-ref.js'
import {escapeControls as esc} from '../core/terminal-text.js'
import {blameImage, type BlameLine} from '../services/history.js'

export default class Blame extends BaseCommand<typeof Blame> {
  static summary = "For each tag in an image's caption, the commit that added it."
  static examples = ['<%= config.bin %> blame img_0042', '<%= config.bin %> blame 42 --json']
  static args = {image: Args.string({description: 'The image (number, id, file name or path)', required: true, ignoreStdin: true})}

  async run(): Promise<{image: string; tags: BlameLine[]}> {
    const dataset = await this.dataset()
    const image = resolveImageRef((await dataset.loadState()).images, this.args.image, {cwd: process.cwd(), root: dataset.root, outputDir: dataset.paths.output})
    const report = await blameImage(dataset, image)
    if (!this.jsonEnabled()) {
      const c = this.term.color
      const width = report.tags.reduce((w, t) => Math.max(w, esc(t.tag).length), 0)
      for (const t of report.tags) {
        this.term.out(`${esc(t.tag).padEnd(width)}  ${t.commit ? `${c.yellow(t.commit.hash.slice(0, 7))} ${esc(t.commit.date.slice(0, 10))} ${esc(t.commit.author)}  ${esc(t.commit.subject)}` : c.dim('not committed yet')}`)
      }
    }
    return report
  }
}
