// Byte-building helpers for hand-made image fixtures, independent of the code under test.
import { expect } from 'vitest';
import { ImageError, type ImageErrorCode } from '../../../src/criu/images/errors.js';

// A protobuf base-128 varint, written out longhand.
export function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

// A varint field: tag (field << 3 | 0) then the value.
export function vfield(field: number, value: number | bigint): number[] {
  return [...varint(field << 3), ...varint(value)];
}

// A length-delimited field: tag (field << 3 | 2), length, payload.
export function lfield(field: number, payload: readonly number[]): number[] {
  return [...varint((field << 3) | 2), ...varint(payload.length), ...payload];
}

// A u32 little-endian.
export function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

// One image entry: u32-LE length then the message.
export function entry(message: readonly number[]): number[] {
  return [...u32(message.length), ...message];
}

// Concatenates byte lists into a Uint8Array.
export function bytes(...parts: readonly (readonly number[])[]): Uint8Array {
  return Uint8Array.from(parts.flat());
}

// Parses "40 59 10 55 ..." into bytes (for fixtures copied from a hex dump).
export function hex(text: string): Uint8Array {
  const clean = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// Runs fn and checks it throws an ImageError with the given code, file and offset; returns it.
export function expectImageError(
  fn: () => unknown,
  want: { code: ImageErrorCode; file?: string; offset?: number; message?: RegExp },
): ImageError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ImageError);
  const err = thrown as ImageError;
  expect(err.code).toBe(want.code);
  if (want.file !== undefined) expect(err.file).toBe(want.file);
  if (want.offset !== undefined) expect(err.offset).toBe(want.offset);
  if (want.message !== undefined) expect(err.message).toMatch(want.message);
  return err;
}
