/**
 * Where lora's folder in the user's cache directory is, from the environment alone (pure: store/user-config.ts
 * `userCacheDir` passes the home folder; bin/run.js uses it for the code cache of the command bundles).
 */
import {join, win32} from 'node:path'

/**
 * lora's folder in the user's cache directory: `$LORA_CACHE_DIR` when set (absolute), else `%LOCALAPPDATA%\lora` on
 * Windows, else `$XDG_CACHE_HOME/lora` (an absolute value only, as the XDG Base Directory Specification says), else
 * `<home>/.cache/lora`.
 * @param env the environment (`LORA_CACHE_DIR`, `XDG_CACHE_HOME`, `LOCALAPPDATA`)
 * @param platform `process.platform`
 * @param home the home folder (for the defaults)
 * @returns an absolute path
 */
export function cacheDirFor(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, home: string): string {
  const own = env.LORA_CACHE_DIR
  if (platform === 'win32') {
    if (own && win32.isAbsolute(own)) return own
    return win32.join(env.LOCALAPPDATA || win32.join(home, 'AppData', 'Local'), 'lora')
  }
  if (own && own.startsWith('/')) return own
  const xdg = env.XDG_CACHE_HOME
  return join(xdg && xdg.startsWith('/') ? xdg : join(home, '.cache'), 'lora')
}
