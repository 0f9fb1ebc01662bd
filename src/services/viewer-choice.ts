/**
 * How `lora next` and `lora resume` show images (README "The viewer"). A dataset is data, not code (README "Safety
 * model"): the setting comes only from the user, never from a dataset's files, so opening a dataset cloned from
 * anywhere cannot make lora run a program. In order: `--viewer`, `LORA_VIEWER`, `viewer` in the user's own config
 * (store/user-config.ts), else `auto`. A dataset's `viewer: none` is honoured (it only turns the viewer off); any
 * other `viewer` in a dataset's config is ignored with a warning saying where it belongs.
 *
 * The setting (core/inline-image.ts `parseViewerSetting`): `auto` (the default) is the system viewer when there is
 * a display (DISPLAY or WAYLAND_DISPLAY, macOS, Windows, WSL) and the image drawn in the terminal otherwise;
 * `inline` draws in the terminal; `system` the system viewer; `none` nothing; a command is run with the image path;
 * keywords combine (`inline,system`, and `inline,<command>`).
 */
import {hasDisplay, parseViewerSetting} from '../core/inline-image.js'
import type {Dataset} from '../store/dataset.js'
import {loadUserConfig, userConfigPath} from '../store/user-config.js'

/** The chosen viewer. */
export interface ViewerChoice {
  /** The external viewer: a command (the image path is appended), `none` for none, or null for the system viewer. */
  command: string | null
  /** The image is drawn in the terminal too (ui/inline-preview.ts). */
  inline: boolean
  /** The setting as given (`auto` when none was). */
  setting: string
  /** Where it came from. */
  source: 'flag' | 'LORA_VIEWER' | 'user config' | 'dataset (none)' | 'default'
  /** `preview.rows` of the user config, or null. */
  previewRows: number | null
  /** One line for stderr when the dataset's config names a viewer command (always ignored), else absent. */
  warning?: string
}

/**
 * Chooses the viewer. The user config is read for `preview.rows`, and for `viewer` when neither the flag nor
 * `LORA_VIEWER` is given.
 * @param options.flag `--viewer`, if given
 * @param options.env the environment (`LORA_VIEWER`, where the user config is, whether there is a display)
 * @param options.platform `process.platform` (macOS and Windows always have a display)
 * @throws ConfigError for a bad user config
 */
export async function chooseViewer(
  dataset: Dataset,
  options: {flag?: string; env?: NodeJS.ProcessEnv; platform?: NodeJS.Platform} = {},
): Promise<ViewerChoice> {
  const env = options.env ?? process.env
  const platform = options.platform ?? process.platform
  const given = (value: string | null | undefined): value is string => typeof value === 'string' && value.trim() !== ''
  // Keywords are case-insensitive (core/inline-image.ts parseViewerSetting): `NONE` turns the viewer off too.
  const fromDataset = dataset.config.viewer?.trim()
  const datasetNone = fromDataset?.toLowerCase() === 'none'
  const ignored = given(fromDataset) && !datasetNone
  const path = userConfigPath(env)
  const user = await loadUserConfig(path)
  const choice = (setting: string, source: ViewerChoice['source']): ViewerChoice => {
    const parsed = parseViewerSetting(setting)
    const display = hasDisplay(env, platform)
    const system = parsed.system || (parsed.auto && display)
    const inline = parsed.inline || (parsed.auto && !display)
    const command = parsed.command ?? (system ? null : 'none')
    const made: ViewerChoice = {command, inline, setting, source, previewRows: user.previewRows}
    if (ignored)
      made.warning = `ignoring "viewer" in ${dataset.rel(dataset.paths.config)}: a dataset cannot choose a program to run; put your viewer in ${path} (viewer: CMD), LORA_VIEWER, or --viewer.`
    return made
  }
  if (given(options.flag)) return choice(options.flag.trim(), 'flag')
  if (given(env.LORA_VIEWER)) return choice(env.LORA_VIEWER.trim(), 'LORA_VIEWER')
  if (given(user.viewer)) return choice(user.viewer.trim(), 'user config')
  if (datasetNone) return choice('none', 'dataset (none)')
  return choice('auto', 'default')
}

/**
 * `preview.rows` of the user's own config (for `lora show --preview`), or null when it is not set.
 * @throws ConfigError for a bad user config
 */
export async function previewRows(env: NodeJS.ProcessEnv = process.env): Promise<number | null> {
  return (await loadUserConfig(userConfigPath(env))).previewRows
}
