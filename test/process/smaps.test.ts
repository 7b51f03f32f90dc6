// What the dirty-size probe sums from /proc/PID/smaps: Referenced over the mappings CRIU dumps the pages of.
import { describe, expect, it } from 'vitest';
import { referencedBytes } from '../../src/process/dirty-probe.js';

const mapping = (header: string, referencedKb: number) =>
  `${header}\nSize:                  64 kB\nRss:                   64 kB\nReferenced:        ${referencedKb} kB\nAnonymous:             0 kB\nVmFlags: rd wr mr mw me ac\n`;

describe('referencedBytes', () => {
  it('sums private writable and shared anonymous mappings, not text, read-only data or shared files', () => {
    const smaps = [
      mapping('55d0a0000000-55d0a0001000 r-xp 00001000 fe:00 5947978    /usr/bin/app', 100), // text
      mapping('55d0a0001000-55d0a0002000 r--p 00002000 fe:00 5947978    /usr/bin/app', 200), // rodata
      mapping('55d0a0002000-55d0a0003000 rw-p 00003000 fe:00 5947978    /usr/bin/app', 4), // .data: dumped
      mapping('55d0a1000000-55d0a5000000 rw-p 00000000 00:00 0          [heap]', 1000),
      mapping('7f0000000000-7f0000100000 rw-s 00000000 00:01 1234       /dev/shm/x', 300), // shared file
      mapping('7f0000100000-7f0000200000 rw-s 00000000 00:00 0 ', 16), // shared anonymous: dumped
      mapping('7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0          [stack]', 8),
    ].join('');
    expect(referencedBytes(smaps)).toBe((4 + 1000 + 16 + 8) * 1024);
  });

  it('reads nothing from text that is not smaps', () => {
    expect(referencedBytes('')).toBe(0);
    expect(referencedBytes('Referenced: 100 kB\n')).toBe(0); // no mapping header before it
  });
});
