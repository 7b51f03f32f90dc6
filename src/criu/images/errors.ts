// The one error type every image decoder throws, so callers can tell a bad image from a bug.
import { errorText } from '../../fs/error-code.js';

// What kind of failure an ImageError is, for callers that branch on it.
export type ImageErrorCode =
  | 'bad-magic'
  | 'truncated'
  | 'bad-length'
  | 'bad-message'
  | 'unknown-version'
  | 'missing-field'
  | 'io';

// What an ImageError is built from: where it happened and what was expected there.
export interface ImageErrorFields {
  file: string;
  offset: number;
  expected: string;
  found?: string;
  code: ImageErrorCode;
}

// A malformed, truncated or unreadable CRIU image: names the file, the byte offset and what was expected there.
export class ImageError extends Error {
  readonly file: string;
  readonly offset: number;
  readonly expected: string;
  readonly found?: string;
  readonly code: ImageErrorCode;

  constructor(fields: ImageErrorFields, options?: { cause?: unknown }) {
    const found = fields.found === undefined ? '' : `, found ${fields.found}`;
    super(`${fields.file}: at byte ${fields.offset}: expected ${fields.expected}${found}`, options);
    this.name = 'ImageError';
    this.file = fields.file;
    this.offset = fields.offset;
    this.expected = fields.expected;
    if (fields.found !== undefined) this.found = fields.found;
    this.code = fields.code;
  }
}

// Wraps a failed read (or stat) of an image file (ENOENT, EACCES, ...) as an 'io' ImageError.
export function ioError(path: string, err: unknown, expected = 'a readable file'): ImageError {
  const found = errorText(err);
  return new ImageError({ file: path, offset: 0, expected, found, code: 'io' }, { cause: err });
}
