#!/usr/bin/env node
// `npm test`, after `npm run build` (pretest): runs the type check (`tsc -p tsconfig.json --noEmit`, src and test)
// and jest at the same time, as two processes. Jest leaves part of the machine idle while its tests wait for the disk
// and for the processes they start; the type check, one thread, runs in that time instead of before it. Jest's
// output streams as it comes; the type checker's is printed after it. Exits non-zero when either fails; arguments go
// to jest (`npm test -- test/unit`).
import {spawn} from 'node:child_process'
import {createRequire} from 'node:module'

const require = createRequire(import.meta.url)

/** Runs `node script ...args`; resolves with the exit code (1 for a signal) and, when `capture`, the output. */
function run(script, args, {env = process.env, capture = false} = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], {
      env,
      stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    })
    let output = ''
    if (capture) {
      child.stdout.on('data', (d) => (output += d))
      child.stderr.on('data', (d) => (output += d))
    }
    child.on('close', (code) => resolve({code: code ?? 1, output}))
  })
}

const nodeOptions = [process.env.NODE_OPTIONS, '--experimental-vm-modules'].filter(Boolean).join(' ')
const [typecheck, jest] = await Promise.all([
  run(require.resolve('typescript/bin/tsc'), ['-p', 'tsconfig.json', '--noEmit'], {capture: true}),
  run(require.resolve('jest/bin/jest'), process.argv.slice(2), {env: {...process.env, NODE_OPTIONS: nodeOptions}}),
])
if (typecheck.code !== 0)
  process.stderr.write(`\nType check failed (tsc -p tsconfig.json --noEmit):\n${typecheck.output}`)
else process.stderr.write('Type check passed (tsc -p tsconfig.json --noEmit).\n')
process.exitCode = typecheck.code !== 0 ? typecheck.code : jest.code
