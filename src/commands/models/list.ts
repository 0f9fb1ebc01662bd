import {BaseCommand} from '../../cli/base-command.js'
import {listModels, type ModelList} from '../../services/models.js'
import {renderModelList} from '../../ui/render-models.js'

export default class ModelsList extends BaseCommand<typeof ModelsList> {
  static summary = 'List the pulled tagger models: name, revision, size, input size, tag count.'
  static examples = ['<%= config.bin %> models list', '<%= config.bin %> models list --json']

  async run(): Promise<ModelList> {
    const list = await listModels()
    if (!this.jsonEnabled()) renderModelList(this.term, list)
    return list
  }
}
