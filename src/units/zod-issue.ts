// The first problem zod found in a value, said the way remusd's file readers say it: the dotted key, what
// was found there (undefined: nothing), and zod's message. Shared by the records and cost-profile readers.

import type { z } from 'zod';

/** The first issue of a failed parse of value. */
export interface FirstIssue {
  /** Dotted path to the offending field ('' for the value itself). */
  key: string;
  /** What the value holds at that path; undefined when nothing is there. */
  found: unknown;
  message: string;
  /** For an unknown-keys issue, the keys that are not allowed. */
  unknownKeys: string[] | undefined;
}

/** The first issue zod reported for value (a failed parse always has at least one). */
export function firstIssue(error: z.ZodError, value: unknown): FirstIssue {
  const [issue] = error.issues;
  if (issue === undefined) return { key: '', found: value, message: error.message, unknownKeys: undefined };
  return {
    key: issue.path.join('.'),
    found: valueAt(value, issue.path),
    message: issue.message,
    unknownKeys: issue.code === 'unrecognized_keys' ? issue.keys : undefined,
  };
}

// The value at path inside value, or undefined where the path leads nowhere.
function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at: unknown = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = Reflect.get(at, key);
  }
  return at;
}
