import Long from 'long';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../../../src/criu/images/errors.js';
import { has, types, u64Exact, u64Safe } from '../../../src/criu/images/schema.js';

const site = { file: 'f', offset: 3, field: 'pages_written' };

describe('schema', () => {
  it('loads every message type from src/criu/proto with CRIU field names and numbers', () => {
    expect(types.dumpStats.fields['pages_written']?.id).toBe(7);
    expect(types.restoreStats.fields['pages_restored']?.id).toBe(5);
    expect(types.pagemapEntry.fields['nr_pages_u64']?.id).toBe(5);
    expect(types.inventory.fields['allow_uprobes']?.id).toBe(14);
    expect(types.inventoryPlugins.fields['plugins']?.id).toBe(12);
  });

  it('has() sees only fields that were on the wire, not prototype defaults', () => {
    const m = types.pagemapEntry.decode(Uint8Array.of(0x08, 0x01)) as unknown as Record<string, unknown>;
    expect(has(m, 'vaddr')).toBe(true);
    expect(has(m, 'flags')).toBe(false);
  });

  it('u64Safe converts exactly up to 2^53-1 and rejects above', () => {
    expect(u64Safe(Long.fromString('9007199254740991', true), site)).toBe(Number.MAX_SAFE_INTEGER);
    expect(u64Safe(Long.fromNumber(0, true), site)).toBe(0);
    expect(u64Safe(7, site)).toBe(7);
    const err = (() => {
      try {
        u64Safe(Long.fromString('9007199254740992', true), site);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).found).toBe('9007199254740992');
    expect((err as ImageError).offset).toBe(3);
  });

  it('u64Exact keeps page-aligned values above 2^53 and rejects ones a double would round', () => {
    expect(u64Exact(Long.fromString('18446744073709547520', true), site)).toBe(2 ** 64 - 4096);
    expect(() => u64Exact(Long.fromString('9007199254740993', true), site)).toThrow(ImageError);
  });
});
