// parse → normalize → validate. Each step returns errors instead of throwing; only loadConfigFile touches
// the disk, and what it reads stays `unknown` until fileSchema has checked it.

import { dirname, resolve } from 'node:path';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { errorMessage } from '../fs/error-code.js';
import { FileReadError, readRegularFile } from '../fs/regular-file.js';
import { closest, formatPath, showValue, type ConfigError, type KeyPath } from './errors.js';
import { checkConfig } from './rules.js';
import { fileSchema, normalizeConfig, type Config } from './schema.js';

/** Where a key (or its value) sits in the source text, 1-based. */
export type Locate = (path: KeyPath, at?: 'key' | 'value') => { line: number; column: number } | undefined;

/** The YAML as plain data (not yet validated), or syntax errors. */
export type ParseResult = { ok: true; raw: unknown; locate: Locate } | { ok: false; errors: ConfigError[] };

/** A validated, normalized config, or every error found. */
export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: ConfigError[] };

/** Parses YAML text (one document; duplicate keys are errors); an empty file is an empty mapping. */
export function parseConfigText(text: string, fileLabel: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    return {
      ok: false,
      errors: problems.map((problem) => {
        const { line, col } = lineCounter.linePos(problem.pos[0]);
        const message = `invalid YAML: ${problem.message.split('\n')[0]}`;
        return { file: fileLabel, path: '', message, line, column: col };
      }),
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, errors: [{ file: fileLabel, path: '', message: `invalid YAML: ${errorMessage(error)}` }] };
  }
  return { ok: true, raw: raw ?? {}, locate: locator(doc, lineCounter) };
}

/** Validates parsed data and normalizes it; relative paths resolve against baseDir (the file's directory). */
export function validateConfig(
  raw: unknown,
  fileLabel: string,
  baseDir: string,
  options: { locate?: Locate } = {},
): ConfigResult {
  const { locate } = options;
  const data = raw ?? {};
  const make = (path: KeyPath, message: string, value?: unknown, at: 'key' | 'value' = 'value'): ConfigError => ({
    file: fileLabel,
    path: formatPath(path),
    message,
    // A long string (a binary file parses as one huge scalar) is kept short: --json must not echo it back.
    ...(value === undefined
      ? {}
      : { value: typeof value === 'string' && value.length > 200 ? `${value.slice(0, 200)}...` : value }),
    ...(locate?.(path, at) ?? {}),
  });

  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    const errors = parsed.error.issues.flatMap((issue) => describeIssue(issue, data, make));
    return { ok: false, errors: sortByPosition(errors) };
  }
  const config = normalizeConfig(parsed.data, baseDir);
  const violations = checkConfig(config, parsed.data);
  if (violations.length > 0) {
    return { ok: false, errors: sortByPosition(violations.map((v) => make(v.path, v.message, v.value))) };
  }
  return { ok: true, config };
}

/** parseConfigText then validateConfig. */
export function configFromText(text: string, fileLabel: string, baseDir: string): ConfigResult {
  const parsed = parseConfigText(text, fileLabel);
  if (!parsed.ok) return parsed;
  return validateConfig(parsed.raw, fileLabel, baseDir, { locate: parsed.locate });
}

/** The largest config file read: the longest example config is ~4 KiB. */
export const CONFIG_MAX_BYTES = 1024 * 1024;

/**
 * Reads a config file's text: a regular file (a FIFO or a device is refused without blocking), at most
 * CONFIG_MAX_BYTES, and text (a NUL byte means a binary file, which is refused rather than echoed back).
 * A failure is a ConfigError naming the file.
 */
export async function readConfigText(
  path: string,
): Promise<{ ok: true; text: string } | { ok: false; errors: ConfigError[] }> {
  const failed = (message: string) => ({ ok: false as const, errors: [{ file: path, path: '', message }] });
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, CONFIG_MAX_BYTES);
  } catch (error) {
    return failed(`cannot read the file: ${error instanceof FileReadError ? error.reason : errorMessage(error)}`);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) return failed(`is not a text file (a NUL byte at byte ${nul}); a config is YAML text`);
  return { ok: true, text: bytes.toString('utf8') };
}

/** Reads and validates a config file; errors name the file as given, relative paths resolve against its directory. */
export async function loadConfigFile(path: string): Promise<ConfigResult> {
  const read = await readConfigText(path);
  return read.ok ? configFromText(read.text, path, dirname(resolve(path))) : read;
}

type Make = (path: KeyPath, message: string, value?: unknown, at?: 'key' | 'value') => ConfigError;

// One zod issue as config errors in our words (the per-value messages were written by src/config/fields.ts).
function describeIssue(issue: z.core.$ZodIssue, data: unknown, make: Make): ConfigError[] {
  const path = issue.path.filter((key): key is string | number => typeof key !== 'symbol');
  const value = valueAt(data, path);
  // An empty value has no position of its own worth showing: point at its key.
  const at = value === null ? 'key' : 'value';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = keysAt(path);
      const here = path.length === 0 ? 'sections' : `keys under ${formatPath(path)}`;
      return issue.keys.map((key) => {
        const hint = closest(key, allowed);
        return make(
          [...path, key],
          `is not a known key; allowed ${here}: ${allowed.join(', ')}${hint ? ` (did you mean ${hint}?)` : ''}`,
          undefined,
          'key',
        );
      });
    }
    case 'invalid_type': {
      if (issue.expected === 'object') {
        const keys = keysAt(path).join(', ');
        if (path.length === 0) {
          return [make(path, `the file must be a mapping of sections (${keys}), not ${showValue(value)}`)];
        }
        if (value === null) {
          return [make(path, `has no value; write its keys (${keys}) under it, or leave it out`, value, at)];
        }
        return [make(path, `${showValue(value)} is not a mapping; it takes the keys ${keys}`, value)];
      }
      if (issue.expected === 'array') {
        const example = 'e.g. ["--tcp-established"]';
        return [make(path, `${showValue(value)} is not a list; write a YAML list of strings, ${example}`, value)];
      }
      return [make(path, `${showValue(value)} is not a ${issue.expected}`, value)];
    }
    case 'custom':
      return [make(path, issue.message, value, at)];
    default:
      return [make(path, `${showValue(value)}: ${issue.message}`, value)];
  }
}

function valueAt(data: unknown, path: KeyPath): unknown {
  let here: unknown = data;
  for (const key of path) {
    if (here === null || typeof here !== 'object') return undefined;
    here = Reflect.get(here, key);
  }
  return here;
}

// The keys the schema allows at a path, for "allowed keys" and "did you mean" hints.
function keysAt(path: KeyPath): string[] {
  let schema: unknown = fileSchema;
  for (const key of path) {
    const object = unwrapOptional(schema);
    if (!(object instanceof z.ZodObject)) return [];
    schema = (object.shape as Record<string, unknown>)[String(key)];
  }
  const object = unwrapOptional(schema);
  return object instanceof z.ZodObject ? Object.keys(object.shape) : [];
}

function unwrapOptional(schema: unknown): unknown {
  return schema instanceof z.ZodOptional ? schema.unwrap() : schema;
}

function sortByPosition(errors: ConfigError[]): ConfigError[] {
  return [...errors].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

// Finds the source position of a key path in the YAML document.
function locator(doc: Document, lineCounter: LineCounter): Locate {
  return (path, at = 'value') => {
    let node: unknown = doc.contents;
    let offset: number | undefined = isNode(node) ? node.range?.[0] : undefined;
    for (const [index, key] of path.entries()) {
      if (isMap(node)) {
        const pair = node.items.find((item) => (isScalar(item.key) ? item.key.value : item.key) === key);
        if (!pair) break;
        const last = index === path.length - 1;
        const keyOffset = isNode(pair.key) ? pair.key.range?.[0] : undefined;
        const valueOffset = isNode(pair.value) ? pair.value.range?.[0] : undefined;
        offset = (last && at === 'key' ? keyOffset : (valueOffset ?? keyOffset)) ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
        offset = (isNode(node) ? node.range?.[0] : undefined) ?? offset;
      } else {
        break;
      }
    }
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
}
