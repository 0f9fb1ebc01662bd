import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {undoCommit, type UndoReport} from '../services/history.js'
import {renderUndo} from '../ui/render-history.js'

export default class Undo extends BaseCommand<typeof Undo> {
  static summary =
    'Undo the newest lora change not undone yet (or the given commit), in the dataset only; state and tags.txt follow.'
  static description =
    "Each caption the commit changed goes back, provided no later commit changed it again (a conflict changes nothing and names the images and the later commit). Only the output folder and .lora-tagger/ are touched: the commit's changes to other files, and anything you staged, stay as they are. Run it again to undo the next older change. Refuses while captions have uncommitted changes. The undo is one new commit with a Lora-Undoes trailer."
  static examples = ['<%= config.bin %> undo', '<%= config.bin %> undo 3f2a9c1']
  static args = {
    commit: Args.string({
      description: 'Commit to undo (default: the newest lora change not undone yet)',
      required: false,
      ignoreStdin: true,
    }),
  }

  async run(): Promise<UndoReport> {
    const report = await undoCommit(await this.dataset(), {
      target: this.args.commit,
      onWarning: (text) => this.term.warn(text),
    })
    if (!this.jsonEnabled()) renderUndo(this.term, report)
    return report
  }
}
