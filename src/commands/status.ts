import {Flags} from '@oclif/core'
import {BaseCommand, commitFlag} from '../cli/base-command.js'
import {datasetStatus, type StatusReport} from '../services/status.js'
import {renderStatus} from '../ui/render.js'

export default class Status extends BaseCommand<typeof Status> {
  static summary = 'Show progress: counts by status, the next image, the vocabulary, problems.'
  static examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --json | jq .images',
    '<%= config.bin %> status --rescan',
  ]
  static flags = {
    rescan: Flags.boolean({
      summary:
        'First re-read every caption file (after editing captions with another tool) and update the state and tags.txt.',
    }),
    check: Flags.boolean({
      summary:
        'Check every image file now (size, mtime, sha256 when those differ), even when the cached summary is recent: finds an image rewritten in place.',
    }),
    ...commitFlag,
  }

  async run(): Promise<StatusReport> {
    const report = await datasetStatus(await this.dataset(), {
      rescan: this.flags.rescan,
      commit: this.flags.commit,
      check: this.flags.check,
    })
    if (!this.jsonEnabled()) renderStatus(this.term, report)
    return report
  }
}
