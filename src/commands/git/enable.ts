import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {enableGit, type GitEnableReport} from '../../services/history.js'
import {renderGitEnable} from '../../ui/render-history.js'

export default class GitEnable extends BaseCommand<typeof GitEnable> {
  static summary = "Turn on the dataset's history in git: one commit per tagging step from now on."
  static description =
    'Uses the enclosing repository, or creates one in the dataset folder. Writes .lora-tagger/.gitignore (local files), output/.gitattributes (images binary, captions text), sets git.autoCommit: true, and commits the dataset.'
  static examples = ['<%= config.bin %> git enable', '<%= config.bin %> git enable --lfs']
  static flags = {lfs: Flags.boolean({summary: 'Store the images with git-lfs (must be installed).'})}

  async run(): Promise<GitEnableReport> {
    const dataset = await this.dataset()
    const report = await enableGit(dataset, {
      lfs: Boolean(this.flags.lfs),
      subject: 'lora: dataset history on \u2014 {n} images',
    })
    if (!this.jsonEnabled()) renderGitEnable(this.term, report, dataset.root)
    return report
  }
}
