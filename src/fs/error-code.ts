// The system error code (ENOENT, EEXIST, …) of a thrown value, read without a cast: Node types a
// failed fs/net call's error as Error, and only some carry a code.

/** The thrown value's string `code` (what Node's system errors carry), or undefined when it has none. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** The code of a system error, else its message: a short phrase for "cannot read X: …". */
export function errorText(error: unknown): string {
  return errorCode(error) ?? (error instanceof Error ? error.message : String(error));
}

/** The message of a thrown value: an Error's message, else the value as text (a thrown string, say). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
