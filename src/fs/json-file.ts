// Small JSON files remusd writes for itself and reads back as untrusted (run.json, shipped.json): read with a
// size bound, parsed, and checked against a zod schema, every refusal naming the file and the field.

import type { z } from 'zod';
import { FileReadError, readRegularFileSync } from './regular-file.js';

/** Parses `text` as JSON matching `schema`; the error names `where` and the first field that is wrong. */
export function parseJsonWith<T>(schema: z.ZodType<T>, text: string, where: string, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${where}: not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    // zod reports at least one issue on failure; the fallbacks only keep a TypeError out of an error message.
    const [issue] = parsed.error.issues;
    throw new Error(`${where}: ${issue?.path.join('.') || '(top)'}: ${issue?.message ?? `not ${what}`}`);
  }
  return parsed.data;
}

/** The file at `path` parsed by parseJsonWith; undefined when it does not exist. */
export function readJsonFileSync<T>(schema: z.ZodType<T>, path: string, maxBytes: number, what: string): T | undefined {
  let text: string;
  try {
    text = readRegularFileSync(path, maxBytes).toString('utf8');
  } catch (error) {
    if (error instanceof FileReadError && error.code === 'ENOENT') return undefined;
    throw error;
  }
  return parseJsonWith(schema, text, path, what);
}
