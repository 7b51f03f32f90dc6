// What a config problem looks like, and how it is printed: file, key path, the value, what is allowed.

/** One problem in a config file, precise enough to fix without reading the code. */
export interface ConfigError {
  /** The file as the user named it (or a label such as "<stdin>"). */
  file: string;
  /** Key path: "thresholds.lmin", "criu.extra_args[1]"; "" for the file as a whole. */
  path: string;
  /** Everything after the path, value first: `"16 MB" is not a size; use …`. */
  message: string;
  /** The offending value as written, when there is one. */
  value?: unknown;
  /** 1-based line and column of the offending key or value, when known. */
  line?: number;
  column?: number;
}

/** A key path as a list of keys and list indexes. */
export type KeyPath = readonly (string | number)[];

/** `thresholds.lmin`, `criu.extra_args[1]`. */
export function formatPath(path: KeyPath): string {
  return path.reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : text === '' ? key : `${text}.${key}`),
    '',
  );
}

/** One error as one line: `config/demo.yaml:7:9: thresholds.lmin: "16 MB" is not a size; use …`. */
export function formatConfigError(error: ConfigError): string {
  const where = error.line === undefined ? error.file : `${error.file}:${error.line}:${error.column ?? 1}`;
  return error.path === '' ? `${where}: ${error.message}` : `${where}: ${error.path}: ${error.message}`;
}

/** A value as it appears in messages: strings quoted, numbers bare, anything else as short JSON. */
export function showValue(value: unknown): string {
  // Long strings are cut: a file of garbage parses as one huge scalar, which must not be echoed back whole.
  if (typeof value === 'string') {
    return value.length > 60
      ? `${JSON.stringify(value.slice(0, 57)).slice(0, -1)}..." (${value.length} characters)`
      : JSON.stringify(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    json = String(value);
  }
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** The candidate closest to a misspelt word (edit distance ≤ 2), for "did you mean" hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
