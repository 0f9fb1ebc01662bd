import {BaseCommand, commitFlag} from '../cli/base-command.js'
import {repairState, type RepairReport} from '../services/repair.js'
import {renderRepair} from '../ui/render.js'

export default class Repair extends BaseCommand<typeof Repair> {
  static summary =
    'Rebuild a missing or unreadable .lora-tagger/state.json from the output folder, the captions and tags.txt.'
  static description = `Captioned images become tagged, empty ones pending. Not recoverable, and said: which images were skipped, the originals' names, when images were tagged, the duplicates and problem files found at import.
Does nothing when state.json is readable.`
  static examples = ['<%= config.bin %> repair', '<%= config.bin %> repair --json']
  static flags = {...commitFlag}

  async run(): Promise<RepairReport> {
    const report = await repairState(await this.dataset(), {commit: this.flags.commit})
    if (!this.jsonEnabled()) renderRepair(this.term, report)
    return report
  }
}
