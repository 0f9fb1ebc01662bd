import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {resolveImageRef} from '../core/image-ref.js'
import {escapeControls as esc} from '../core/terminal-text.js'
import {type LogReport, tagLog} from '../services/history.js'

export default class Log extends BaseCommand<typeof Log> {
  static summary = 'Tag-level history, newest first: commit, date, author, image, +added −removed tags.'
  static description = 'Computed from the caption files\u2019 diffs in git, so commits made by hand or by other tools count too.'
  static examples = ['<%= config.bin %> log', '<%= config.bin %> log img_0042', '<%= config.bin %> log --tag "red hair"', '<%= config.bin %> log -n 20 --json']
  static args = {image: Args.string({description: 'Only this image (number, id, file name or path)', required: false, ignoreStdin: true})}
  static flags = {
    tag: Flags.string({summary: 'Only changes adding or removing this tag.'}),
    'max-count': Flags.integer({char: 'n', summary: 'Show at most this many entries.', min: 1}),
  }

  async run(): Promise<LogReport> {
    const dataset = await this.dataset()
    const image = this.args.image ? resolveImageRef((await dataset.loadState()).images, this.args.image, {cwd: process.cwd(), root: dataset.root, outputDir: dataset.paths.output}) : undefined
    const report = await tagLog(dataset, {image, tag: this.flags.tag, limit: this.flags['max-count']})
    if (!this.jsonEnabled()) {
      const c = this.term.color
      for (const e of report.events) {
        const changes = [...e.added.map((t) => c.green(`+${esc(t)}`)), ...e.removed.map((t) => c.red(`\u2212${esc(t)}`))].join(' ')
        this.term.out(`${c.yellow(e.commit.slice(0, 7))} ${esc(e.date.slice(0, 10))} ${esc(e.author)}  ${c.bold(esc(e.image))}  ${changes}`)
      }
      if (report.events.length === 0) this.term.info('No tag changes in the history.')
    }
    return report
  }
}
