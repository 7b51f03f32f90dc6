/**
 * Throws unless this process runs as root, saying what to run instead. The criu test project needs root
 * (CRIU needs CAP_SYS_ADMIN and ptrace); without it the tests fail with this fix rather than skip.
 */
export function requireRoot(): void {
  if (process.getuid?.() === 0) return;
  throw new Error(
    'the criu test project must run as root (CRIU needs CAP_SYS_ADMIN and ptrace). Fix: run `sudo bash scripts/test.sh`, ' +
      'or `npm run test:unit` for the pure tests, which need no root',
  );
}
