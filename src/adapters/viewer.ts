/**
 * Shows an image to the user: in the viewer command the user chose (services/viewer-choice.ts: `--viewer`,
 * `LORA_VIEWER` or the user's own config, never a dataset's; run through `sh` with the image path as its last
 * argument), `none` for no viewer, or else the system viewer via `open` (xdg-open, macOS `open`, Windows `start`).
 * The viewer is started detached; lora never waits for it.
 */
import {spawn} from 'node:child_process'
import {extensionOf, IMAGE_EXTENSIONS} from '../core/naming.js'

/** Opens `path` in the chosen viewer. Returns a warning message when it could not be started, else undefined. */
export async function showImage(path: string, viewer: string | null | undefined): Promise<string | undefined> {
  const command = viewer?.trim()
  if (command === 'none') return undefined
  try {
    if (command) {
      // "$@" passes the path as one argument whatever characters it holds.
      const child = spawn('sh', ['-c', `${command} "$@"`, 'lora-viewer', path], {detached: true, stdio: 'ignore'})
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', () => resolve())
        child.once('error', reject)
      })
      child.unref()
      return undefined
    }
    // The system viewer opens a file by its type, and for some types that means running it (a .desktop file, a
    // script): it is given only files named like the images lora imports, whatever a dataset's state says.
    if (!(IMAGE_EXTENSIONS as readonly string[]).includes(extensionOf(path)))
      return `not opening ${path} in the system viewer: not an image file name`
    const {default: open} = await import('open')
    const child = await open(path, {wait: false})
    child.once('error', () => {})
    child.unref()
    return undefined
  } catch (error) {
    return `could not open the image viewer (${(error as Error).message}); set LORA_VIEWER, or "viewer" in your own config (~/.config/lora/config.yaml), or LORA_VIEWER=none`
  }
}
