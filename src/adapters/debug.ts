/**
 * Debug output in oclif's convention: with `DEBUG=lora:*` (or one namespace, `DEBUG=lora:cache`) `lora` prints on
 * stderr the failures it deliberately does not stop for (a cache it could not write, a git clean-up step that
 * failed after the real work was done). Written through the `debug` package, which @oclif/core uses for its own
 * `DEBUG=oclif:*` output, so its line format and namespace patterns (`lora:*,-lora:git`) apply. The package is
 * loaded only when `DEBUG` is set: ordinary runs (and the fast path) pay nothing.
 */

/** The namespaces `lora` writes to. */
export type DebugNamespace = 'lora:cache' | 'lora:git' | 'lora:preview'

type DebugFactory = (namespace: string) => ((format: string, ...args: unknown[]) => void) & {enabled: boolean}

/** The module name, held in a variable so that TypeScript does not look for `debug`'s type declarations. */
const DEBUG_MODULE = 'debug'

/**
 * Prints `message` (and the error's code and message, when given) under `namespace` when `DEBUG` enables it.
 * Never throws: a failure to print debug output is not a failure of the command.
 */
export async function debugLog(namespace: DebugNamespace, message: string, error?: unknown): Promise<void> {
  if (!process.env.DEBUG) return
  try {
    const {default: debug} = (await import(DEBUG_MODULE)) as {default: DebugFactory}
    const log = debug(namespace)
    if (!log.enabled) return
    log('%s%s', message, error === undefined ? '' : `: ${describe(error)}`)
  } catch {
    // no debug output is possible; the command goes on
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code
    return code && !error.message.startsWith(code) ? `${code} ${error.message}` : error.message
  }
  return String(error)
}
