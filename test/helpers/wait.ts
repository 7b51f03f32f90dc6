import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/**
 * Polls `probe` every `pollMs` until it returns a value other than undefined, and returns that value.
 * Throws "timed out waiting for WHAT" after `timeoutMs`: the bound is generous because it only stops a hung
 * test; no assertion is made about how long the wait took.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  pollMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${timeoutMs} ms)`);
    await sleep(pollMs);
  }
}
