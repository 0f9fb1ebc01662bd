/**
 * Jest setup (jest.config.js `setupFiles`), run in every test file before it: the git that lora and the tests start
 * commits as a fixed identity and reads no global git config of the machine's, unless a test sets its own. A machine
 * without a git identity (a fresh CI runner) made every test that commits fail with "Author identity unknown", and a
 * developer's global config (a `core.hooksPath`, which lora runs) would reach into the tests. Tests of those cases
 * pass their own environment (test/git-helpers.ts `globalHooks`, the identity tests in git-safety).
 */
const GIT_DEFAULTS: Record<string, string> = {
  GIT_AUTHOR_NAME: 'Lora Tester',
  GIT_AUTHOR_EMAIL: 'lora.tester@example.com',
  GIT_COMMITTER_NAME: 'Lora Tester',
  GIT_COMMITTER_EMAIL: 'lora.tester@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
}
for (const [key, value] of Object.entries(GIT_DEFAULTS)) process.env[key] ??= value
