/**
 * The user's own config, `config.yaml` in lora's folder of the user's config directory: `$XDG_CONFIG_HOME/lora/`
 * (default `~/.config/lora/`) on Linux and macOS, `%APPDATA%\lora\` on Windows (the XDG Base Directory
 * Specification; git reads `$XDG_CONFIG_HOME/git/config` the same way). It holds what a dataset must not choose:
 * programs lora runs (README "Safety model": a dataset is data, not code, as git never takes `core.pager` or hooks
 * from a cloned repository).
 *
 * ```yaml
 * viewer: feh --scale-down   # auto, inline, system, none, a command (the path is appended), or inline,system
 * preview:
 *   rows: 20                  # rows of the image drawn in the terminal (inline)
 * ```
 */
import {homedir} from 'node:os'
import {join, win32} from 'node:path'
import {ConfigError} from '../errors.js'
import {cacheDirFor} from '../core/cache-dir.js'
import {isCode, readTextIfExists} from '../adapters/fs.js'

/** The user config's keys. Every key is optional; a missing file is an empty config. */
export interface UserConfig {
  /**
   * The viewer setting (core/inline-image.ts `parseViewerSetting`): `auto`, `inline`, `system`, `none`, a command
   * (the image path is appended), or a combination such as `inline,system`; null for the default (`auto`).
   */
  viewer: string | null
  /** `preview.rows`: the rows of the image drawn in the terminal (a whole number, 1 or more), or null. */
  previewRows: number | null
}

/** The keys, for messages. */
export const USER_CONFIG_KEYS = ['viewer', 'preview.rows']

/**
 * Where the user config lives.
 * @param env the environment (`XDG_CONFIG_HOME`, `APPDATA`)
 * @param platform `process.platform`
 * @param home the home folder (for the `~/.config` default)
 * @returns the absolute path of `config.yaml`
 */
export function userConfigPath(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (platform === 'win32') {
    const base = env.APPDATA || win32.join(home, 'AppData', 'Roaming')
    return win32.join(base, 'lora', 'config.yaml')
  }
  // The XDG spec: a relative $XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME
  const base = xdg && xdg.startsWith('/') ? xdg : join(home, '.config')
  return join(base, 'lora', 'config.yaml')
}

/**
 * lora's folder in the user's cache directory (downloaded models live in its `models/`): `$LORA_CACHE_DIR` when
 * set (absolute; the variable oclif reads for lora's cache folder, as for `lora autocomplete`), else
 * `%LOCALAPPDATA%\lora` on Windows, else `$XDG_CACHE_HOME/lora` (an absolute value only, as the XDG Base Directory
 * Specification says), else `~/.cache/lora`.
 * @param env the environment (`LORA_CACHE_DIR`, `XDG_CACHE_HOME`, `LOCALAPPDATA`)
 * @param platform `process.platform`
 * @param home the home folder (for the defaults)
 * @returns an absolute path
 */
export function userCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  return cacheDirFor(env, platform, home)
}

/**
 * Reads the user config (defaults when the file does not exist).
 * @param path the file (userConfigPath() by default)
 * @throws ConfigError naming the file and the key for bad YAML, unknown keys or bad values, and for a path that
 *   is not a readable file
 */
export async function loadUserConfig(path: string = userConfigPath()): Promise<UserConfig> {
  let text: string | undefined
  try {
    text = await readTextIfExists(path)
  } catch (error) {
    if (isCode(error, 'EISDIR', 'EACCES', 'EPERM', 'ENOTDIR')) {
      throw new ConfigError(
        `Cannot read your lora config ${path} (${(error as NodeJS.ErrnoException).code}).`,
        'Make it a readable file, or remove it.',
      )
    }
    throw error
  }
  const config: UserConfig = {viewer: null, previewRows: null}
  if (text === undefined) return config
  const {parse} = await import('yaml')
  let doc: unknown
  try {
    doc = parse(text) ?? null
  } catch (error) {
    throw new ConfigError(
      `${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`,
      'Fix the file; see README "Config keys" (your own config).',
    )
  }
  if (doc === null) return config
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(
      `${path} must be a mapping of keys to values.`,
      `The keys are: ${USER_CONFIG_KEYS.join(', ')}.`,
    )
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (key === 'preview') {
      config.previewRows = previewRows(value, path)
      continue
    }
    if (key !== 'viewer')
      throw new ConfigError(
        `Unknown key "${key}" in ${path}.`,
        `Remove it or use one of: ${USER_CONFIG_KEYS.join(', ')}.`,
      )
    if (value !== null && (typeof value !== 'string' || value.trim() === '')) {
      throw new ConfigError(
        `Bad value for "viewer" in ${path}: ${JSON.stringify(value)}.`,
        '"viewer" must be a command (the image path is appended), none, or null.',
      )
    }
    config.viewer = value
  }
  return config
}

/** `preview:` of the user config: a mapping with `rows` (a whole number, 1 or more), or null. */
function previewRows(value: unknown, path: string): number | null {
  if (value === null) return null
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(`Bad value for "preview" in ${path}: ${JSON.stringify(value)}.`, '"preview" holds rows: N.')
  let rows: number | null = null
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (key !== 'rows')
      throw new ConfigError(
        `Unknown key "preview.${key}" in ${path}.`,
        `Remove it or use one of: ${USER_CONFIG_KEYS.join(', ')}.`,
      )
    if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 1))
      throw new ConfigError(
        `Bad value for "preview.rows" in ${path}: ${JSON.stringify(v)}.`,
        '"preview.rows" must be a whole number of rows, 1 or more (or null for the default, 20).',
      )
    rows = v
  }
  return rows
}
