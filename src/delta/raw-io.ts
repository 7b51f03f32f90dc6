// Whole-buffer reads and writes on a file descriptor: one syscall may move fewer bytes than asked.
import { readSync, writeSync } from 'node:fs';

// Reads until buf[0, length) is full or the file ends; returns the bytes read.
export function readFull(fd: number, buf: Buffer, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

// Writes buf[0, length) at position, whatever the number of write calls it takes.
export function writeFull(fd: number, buf: Buffer, length: number, position: number): void {
  for (let done = 0; done < length;) done += writeSync(fd, buf, done, length - done, position + done);
}
