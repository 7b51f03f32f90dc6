import { describe, expect, it } from 'vitest';
import { ImageError, ioError } from '../../../src/criu/images/errors.js';

describe('ImageError', () => {
  it('says file, byte offset, what was expected and what was found', () => {
    const err = new ImageError({
      file: 'stats-dump',
      offset: 8,
      expected: 'a u32 length prefix',
      found: 'end of file after 2 bytes',
      code: 'truncated',
    });
    expect(err.message).toBe('stats-dump: at byte 8: expected a u32 length prefix, found end of file after 2 bytes');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ImageError');
    expect([err.file, err.offset, err.code, err.found]).toEqual([
      'stats-dump',
      8,
      'truncated',
      'end of file after 2 bytes',
    ]);
  });

  it('leaves out ", found" when nothing is known about what was found', () => {
    const err = new ImageError({ file: 'x', offset: 0, expected: 'magic', code: 'bad-magic' });
    expect(err.message).toBe('x: at byte 0: expected magic');
    expect(err.found).toBeUndefined();
  });

  it('ioError keeps the errno code as what was found', () => {
    const cause = Object.assign(new Error('nope'), { code: 'ENOENT' });
    const err = ioError('/d/stats-dump', cause);
    expect(err.code).toBe('io');
    expect(err.found).toBe('ENOENT');
    expect(err.cause).toBe(cause);
    expect(err.message).toBe('/d/stats-dump: at byte 0: expected a readable file, found ENOENT');
  });
});
