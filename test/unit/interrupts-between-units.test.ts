/**
 * store/interrupts.ts `stopBetweenUnits` (lora autotag's batches): the first stop signal waits for the current unit,
 * the second stops at once, each saying what is kept. The module's state is per process, so this has its own file;
 * test/e2e/autotag-interrupt.test.ts sends a real SIGINT to the binary.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {lockTaken, pendingStop, requestStop, stopBetweenUnits} from '../../src/store/interrupts.js'
import {makeTemp, removeTemp} from '../helpers.js'

let dir: string
beforeAll(async () => {
  dir = await makeTemp('lora-interrupts-units-')
})
afterAll(() => removeTemp(dir))

it('defers the first signal to the end of the current unit, and the second stops at once saying what was kept', async () => {
  const lock = join(dir, 'lock')
  await fsp.writeFile(lock, '{}')
  lockTaken(lock)
  let done = 2
  const end = stopBetweenUnits('the current batch', () => `${done} batches kept`)
  expect(pendingStop()).toBeUndefined()
  expect(requestStop('SIGINT', 'Ctrl-C')).toEqual({
    exitNow: false,
    message: 'Interrupted: stopping after the current batch (Ctrl-C again stops now)…',
  })
  // The work sees it after its unit; the lock is still held meanwhile.
  expect(pendingStop()).toBe('SIGINT')
  expect(fs.existsSync(lock)).toBe(true)
  done = 3
  expect(requestStop('SIGINT', 'Ctrl-C')).toEqual({exitNow: true, message: 'Stopped: 3 batches kept.'})
  expect(fs.existsSync(lock)).toBe(false)
  end()
  // Once the work is over, a signal stops at once as between changes.
  expect(requestStop('SIGTERM', 'SIGTERM again').exitNow).toBe(true)
})
