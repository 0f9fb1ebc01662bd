import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {pullModel, type PullReport} from '../../services/models.js'
import {downloadProgress, renderPull} from '../../ui/render-models.js'

export default class ModelsPull extends BaseCommand<typeof ModelsPull> {
  static summary = 'Download a tagger model (model.onnx and selected_tags.csv) from the Hugging Face Hub.'
  static description = `Into lora's cache ($XDG_CACHE_HOME/lora/models, ~/.cache/lora/models; %LOCALAPPDATA%\\lora\\models on Windows). An interrupted download resumes; files are checked against the sha256 the hub states. HF_ENDPOINT sets the hub, HF_TOKEN the access token (private or gated repositories). Prints the model's folder.`
  static examples = [
    '<%= config.bin %> models pull SmilingWolf/wd-vit-tagger-v3',
    '<%= config.bin %> models pull SmilingWolf/wd-eva02-large-tagger-v3 --revision main',
  ]
  static args = {
    name: Args.string({description: 'Hugging Face repository, OWNER/NAME', required: true, ignoreStdin: true}),
  }
  static flags = {
    revision: Flags.string({summary: 'Branch, tag or commit to download.', default: 'main'}),
  }

  async run(): Promise<PullReport> {
    const progress = this.jsonEnabled() ? undefined : downloadProgress(this.term)
    try {
      const report = await pullModel({
        repo: this.args.name,
        revision: this.flags.revision,
        onProgress: progress?.onProgress,
      })
      progress?.done()
      if (!this.jsonEnabled()) renderPull(this.term, report)
      return report
    } catch (error) {
      progress?.done()
      throw error
    }
  }
}
