/**
 * Jest setup (jest.config.js `setupFilesAfterEnv`), run in every test file. @oclif/core adds an `error` listener to
 * process.stdout when its command module is loaded (node_modules/@oclif/core/lib/command.js: it swallows EPIPE), which
 * a lora process does once. Jest loads modules anew for each test file while a worker's process.stdout stays the same
 * stream, so those listeners piled up, one per file that loads oclif, until node warned of a leak
 * (MaxListenersExceededWarning: 11 error listeners added to [Socket]). Each file removes the ones it added.
 */
const before = new Set(process.stdout.listeners('error'))

afterAll(() => {
  for (const listener of process.stdout.listeners('error'))
    if (!before.has(listener)) process.stdout.removeListener('error', listener as (...args: unknown[]) => void)
})
