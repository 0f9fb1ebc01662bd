/**
 * The lean runner: how bin/run.js runs a command from its bundle (dist/bundle/commands/<path>.js, made by
 * scripts/bundle-commands.js; each bundle holds its command and this module) without loading oclif's Config, its
 * plugins or its help. The command class is oclif's as always (same parser, same `init`/`run`/`catch`, same output),
 * run by oclif's own `Command.run` with a config built from oclif.manifest.json (`leanConfig`); what escapes it goes to
 * src/cli/top-level.ts as under oclif. Which invocations come here is decided by src/cli/launch.ts (help, the
 * version, unknown words and the rest go to oclif's full path). Imports only @oclif/core (in a bundle, the slim index of scripts/bundle/oclif-core.js) and top-level.ts.
 */
import {flush, type Command, type Interfaces} from '@oclif/core'
import {handleTopLevel} from './top-level.js'

/** The parts of oclif.manifest.json the runner reads: each command's id, aliases, arguments and strictness. */
export interface LeanManifest {
  version: string
  commands: Record<string, {id: string; aliases?: string[]; args?: Record<string, unknown>; strict?: boolean}>
}

/** The parts of package.json the runner reads (oclif's `bin`, `topicSeparator`), with the package's name. */
export interface LeanPackage {
  name: string
  version: string
  oclif: {bin?: string; topicSeparator?: string; [key: string]: unknown}
}

/** A command class as a bundle exports it (its default export). */
type CommandClass = (new (argv: string[], config: Interfaces.Config) => Command) &
  Pick<typeof Command, 'run'> & {id: string}

/**
 * Runs `lora <id> argv` (`argv`: the words after the command's name, the global flags given before it moved in front
 * of them) with `CommandClass`, as oclif's `config.runCommand` does, then flushes the output as oclif's `execute`.
 * An error that escapes the command (an exit, already printed) is handled by `handleTopLevel`, which ends the process.
 * @param root the package folder (where package.json is)
 */
export async function runLean(
  CommandClass: CommandClass,
  id: string,
  argv: string[],
  context: {root: string; manifest: LeanManifest; pjson: LeanPackage},
): Promise<void> {
  CommandClass.id = id
  try {
    await CommandClass.run(argv, leanConfig(context) as unknown as Interfaces.LoadOptions)
    // As oclif's `execute`: not awaited (its timer is unref'd and must not hold the process).
    void flush()
  } catch (error) {
    await handleTopLevel(error as Error, argv)
  }
}

/**
 * The config a command sees (`this.config`) under the lean runner: what oclif's Command and parser read while a
 * command runs (its name, the scoped environment variables, the command ids for `normalizeArgv`, hooks: none run),
 * taken from package.json and oclif.manifest.json. Reading anything else throws, naming the key, so that a command
 * that starts using another part of oclif's Config fails in the tests (test/e2e runs the binary) instead of
 * misbehaving: add the key here.
 */
export function leanConfig({root, manifest, pjson}: {root: string; manifest: LeanManifest; pjson: LeanPackage}) {
  const bin = pjson.oclif.bin ?? pjson.name
  const prefix = bin.toUpperCase().replaceAll('-', '_')
  const commands = new Map<string, LeanManifest['commands'][string]>()
  for (const command of Object.values(manifest.commands)) {
    commands.set(command.id, command)
    for (const alias of command.aliases ?? []) commands.set(alias, command)
  }
  const config = {
    lean: true,
    root,
    name: pjson.name,
    version: pjson.version,
    bin,
    pjson,
    topicSeparator: pjson.oclif.topicSeparator ?? ':',
    flexibleTaxonomy: false,
    isSingleCommandCLI: false,
    platform: process.platform,
    arch: process.arch,
    windows: process.platform === 'win32',
    userAgent: `${pjson.name}/${pjson.version} ${process.platform}-${process.arch} node-${process.version}`,
    theme: undefined,
    commandIDs: [...commands.keys()],
    findCommand: (id: string) => commands.get(id),
    scopedEnvVarKey: (key: string) => `${prefix}_${key}`,
    scopedEnvVarKeys: (key: string) => [`${prefix}_${key}`],
    scopedEnvVar: (key: string) => process.env[`${prefix}_${key}`],
    scopedEnvVarTrue: (key: string) => ['true', '1'].includes(process.env[`${prefix}_${key}`] ?? ''),
    runHook: () => Promise.resolve({successes: [], failures: []}),
  }
  return new Proxy(config, {
    get(target, key, receiver): unknown {
      if (typeof key === 'symbol' || key === 'then' || key in target)
        return Reflect.get(target, key, receiver) as unknown
      throw new Error(`The lean runner's config has no \`${key}\` (src/cli/lean.ts leanConfig): add it there.`)
    },
  })
}
