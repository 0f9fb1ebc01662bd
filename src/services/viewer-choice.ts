/**
 * Which image viewer `lora next` and `lora resume` run. A dataset is data, not code (README "Safety model"): the
 * command comes only from the user, never from a dataset's files, so opening a dataset cloned from anywhere cannot
 * make lora run a program. In order: `--viewer CMD`, `LORA_VIEWER`, `viewer` in the user's own config
 * (store/user-config.ts), else the system viewer. A dataset's `viewer: none` is honoured (it only turns the viewer
 * off); any other `viewer` in a dataset's config is ignored with a warning saying where it belongs.
 */
import type {Dataset} from '../store/dataset.js'
import {loadUserConfig, userConfigPath} from '../store/user-config.js'

/** The chosen viewer. */
export interface ViewerChoice {
  /** The command (the image path is appended), `none` for no viewer, or null for the system viewer. */
  command: string | null
  /** Where it came from. */
  source: 'flag' | 'LORA_VIEWER' | 'user config' | 'dataset (none)' | 'system'
  /** One line for stderr when the dataset's config names a viewer command (always ignored), else absent. */
  warning?: string
}

/**
 * Chooses the viewer. The user config is read only when neither the flag nor `LORA_VIEWER` is given.
 * @param options.flag `--viewer`, if given
 * @param options.env the environment (`LORA_VIEWER`, and where the user config is)
 * @throws ConfigError for a bad user config
 */
export async function chooseViewer(
  dataset: Dataset,
  options: {flag?: string; env?: NodeJS.ProcessEnv} = {},
): Promise<ViewerChoice> {
  const env = options.env ?? process.env
  const given = (value: string | null | undefined): value is string => typeof value === 'string' && value.trim() !== ''
  const fromDataset = dataset.config.viewer?.trim()
  const ignored = given(fromDataset) && fromDataset !== 'none'
  const warning = (path: string) =>
    ignored
      ? `ignoring "viewer" in ${dataset.rel(dataset.paths.config)}: a dataset cannot choose a program to run; put your viewer in ${path} (viewer: CMD), LORA_VIEWER, or --viewer.`
      : undefined
  const choice = (command: string | null, source: ViewerChoice['source'], path = userConfigPath(env)): ViewerChoice => {
    const text = warning(path)
    return text ? {command, source, warning: text} : {command, source}
  }
  if (given(options.flag)) return choice(options.flag.trim(), 'flag')
  if (given(env.LORA_VIEWER)) return choice(env.LORA_VIEWER.trim(), 'LORA_VIEWER')
  const path = userConfigPath(env)
  const user = await loadUserConfig(path)
  if (given(user.viewer)) return choice(user.viewer.trim(), 'user config', path)
  if (fromDataset === 'none') return choice('none', 'dataset (none)', path)
  return choice(null, 'system', path)
}
