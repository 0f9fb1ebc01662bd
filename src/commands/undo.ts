import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {undoCommit, type UndoReport} from '../services/history.js'
import {escapeControls as esc} from '../core/terminal-text.js'

export default class Undo extends BaseCommand<typeof Undo> {
  static summary = 'Revert the last lora commit (or the given one) with git revert; state and tags.txt follow.'
  static description = 'Refuses while captions have uncommitted changes. The revert and the updated state are one new commit.'
  static examples = ['<%= config.bin %> undo', '<%= config.bin %> undo 3f2a9c1']
  static args = {commit: Args.string({description: 'Commit to revert (default: the newest lora commit)', required: false, ignoreStdin: true})}

  async run(): Promise<UndoReport> {
    const report = await undoCommit(await this.dataset(), this.args.commit)
    if (!this.jsonEnabled()) this.term.info(`Reverted ${report.reverted.slice(0, 7)} "${esc(report.subject)}" (${report.images.length} image(s) changed) as ${report.commit?.slice(0, 7)}.`)
    return report
  }
}
