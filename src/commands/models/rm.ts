import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {removeModel, type RemoveReport} from '../../services/models.js'
import {renderRemoved} from '../../ui/render-models.js'

export default class ModelsRm extends BaseCommand<typeof ModelsRm> {
  static summary =
    'Remove a pulled tagger model from the cache (every revision, or one with --revision) and the optimised copies lora made of it.'
  static examples = [
    '<%= config.bin %> models rm SmilingWolf/wd-vit-tagger-v3',
    '<%= config.bin %> models rm SmilingWolf/wd-vit-tagger-v3 --revision v2.0',
  ]
  static args = {
    name: Args.string({description: 'the model, OWNER/NAME (as pulled)', required: true, ignoreStdin: true}),
  }
  static flags = {
    revision: Flags.string({summary: 'Remove only this revision [default: every revision].'}),
  }

  async run(): Promise<RemoveReport> {
    const report = await removeModel({name: this.args.name, revision: this.flags.revision})
    if (!this.jsonEnabled()) renderRemoved(this.term, report)
    return report
  }
}
