import { execFileSync } from 'node:child_process';

/** Pages of a file in the page cache, as util-linux fincore counts them. */
export function residentPages(path: string): number {
  return Number(
    execFileSync('fincore', ['--noheadings', '--raw', '--bytes', '--output', 'PAGES', path], {
      encoding: 'utf8',
    }).trim(),
  );
}
