import {BaseCommand} from '../base-command.js'
import {datasetStatus, type StatusReport} from '../services/status.js'
import {renderStatus} from '../ui/render.js'

export default class Status extends BaseCommand<typeof Status> {
  static summary = 'Show progress: counts by status, the next image, the vocabulary, problems.'
  static examples = ['<%= config.bin %> status', '<%= config.bin %> status --json | jq .images']

  async run(): Promise<StatusReport> {
    const report = await datasetStatus(await this.dataset())
    if (!this.jsonEnabled()) renderStatus(this.term, report)
    return report
  }
}
