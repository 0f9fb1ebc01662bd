/**
 * Opens a page in the user's default web browser (the `open` package: xdg-open, macOS `open`, Windows `start`), for
 * `lora gallery --open`. Only a page lora wrote is opened, never a path a dataset names.
 */

/**
 * Opens `path` (an `.html` file lora wrote) in the default browser; returns once the opener has started, without
 * waiting for the browser.
 * @throws Error when no opener could be started (no xdg-open, no desktop)
 */
export async function openInBrowser(path: string): Promise<void> {
  const {default: open} = await import('open')
  const child = await open(path, {wait: false})
  child.unref()
}
