// Runs a generator whose steps yield values that may or may not be promises: a promise is awaited, any
// other value is handed straight back. So one loop serves both the real run (CRIU, timers: promises) and
// the simulation (a model checkpointer and a virtual clock: plain values), and the simulation pays for no
// promise per checkpoint.

/** A value now, or later. */
export type MaybePromise<T> = T | PromiseLike<T>;

/** What a driven generator yields: anything, each answered with its (awaited) value. */
export type Steps<R> = Generator<unknown, R, unknown>;

/**
 * Drives steps to the end. A rejected promise is thrown into the generator at its yield, as `await` would
 * throw it; a run of plain values goes on synchronously, without returning to the event loop.
 */
export async function drive<R>(steps: Steps<R>): Promise<R> {
  let input: unknown;
  let failure: { error: unknown } | undefined;
  for (;;) {
    const next = failure === undefined ? steps.next(input) : steps.throw(failure.error);
    failure = undefined;
    if (next.done === true) return next.value;
    const value = next.value;
    if (isThenable(value)) {
      try {
        input = await value;
      } catch (error) {
        failure = { error };
      }
    } else {
      input = value;
    }
  }
}

/** Whether a value is a promise (anything with a then method), to be waited for. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && 'then' in value && typeof value.then === 'function';
}

/**
 * Waits for a promise inside driven steps (`yield* settled(promise)`) and returns its value, typed: a bare
 * `yield` gives back `unknown`, since one generator type covers every yield.
 */
export function* settled<T>(promise: PromiseLike<T>): Steps<T> {
  // drive() resumes each yield with the awaited value of what was yielded: a PromiseLike<T> gives a T.
  // oxlint-disable-next-line typescript/no-unsafe-type-assertion
  return (yield promise) as T;
}
