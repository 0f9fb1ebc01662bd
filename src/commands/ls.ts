import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {CURATION_RULES} from '../core/curation.js'
import type {ImageStatus} from '../core/state.js'
import {listImages, type ListReport} from '../services/list.js'
import {renderList} from '../ui/render-curate.js'

export default class Ls extends BaseCommand<typeof Ls> {
  static summary = 'List images as id<TAB>path: by status, tag, curation finding, or likeness to an image.'
  static description = `Every criterion given must hold. --finding and --like read what lora curate measured (run it first; images it has not measured are counted on stderr).
--like lists the images within --distance (default: config curate.distance, 10) of the image's pHash, nearest first.`
  static examples = [
    '<%= config.bin %> ls --status pending',
    '<%= config.bin %> ls --tag "red hair" --without hat',
    '<%= config.bin %> ls --finding blurry | cut -f1 | xargs lora tag --skip',
    '<%= config.bin %> ls --like img_0004 --distance 12',
  ]
  static flags = {
    status: Flags.string({summary: 'Only images of this status.', options: ['pending', 'tagged', 'skipped', 'auto']}),
    tag: Flags.string({summary: 'Only images having this tag (repeatable).', multiple: true, multipleNonGreedy: true}),
    without: Flags.string({
      summary: 'Only images without this tag (repeatable).',
      multiple: true,
      multipleNonGreedy: true,
    }),
    finding: Flags.string({summary: `Only images with this lora curate finding: ${CURATION_RULES.join(', ')}.`}),
    like: Flags.string({summary: 'Images like this one (pHash), nearest first.'}),
    distance: Flags.integer({summary: 'With --like: the largest pHash distance, 0–64.', dependsOn: ['like']}),
  }

  async run(): Promise<ListReport> {
    const {flags} = this
    const report = await listImages(await this.dataset(), {
      status: flags.status as ImageStatus | undefined,
      tags: flags.tag ?? [],
      without: flags.without ?? [],
      finding: flags.finding,
      like: flags.like,
      distance: flags.distance,
      cwd: process.cwd(),
    })
    if (!this.jsonEnabled()) renderList(this.term, report)
    return report
  }
}
