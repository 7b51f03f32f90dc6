import type { PagemapEntry } from '../criu/images/index.js';

// The new pagemap's entries, built page by page: consecutive pages with the same flags extend one entry.
export class RunList {
  readonly entries: PagemapEntry[] = [];
  private last: PagemapEntry | undefined;

  constructor(private readonly pageSize: number) {}

  add(vaddr: number, flags: number): void {
    const last = this.last;
    if (
      last !== undefined &&
      last.flags === flags &&
      last.vaddr + last.nrPages * this.pageSize === vaddr &&
      last.nrPages < 0xffffffff
    ) {
      last.nrPages++;
      return;
    }
    this.last = { vaddr, nrPages: 1, flags };
    this.entries.push(this.last);
  }

  /** Copies an entry unchanged (never merged with its neighbours). */
  copy(entry: PagemapEntry): void {
    this.entries.push({ ...entry });
    this.last = undefined;
  }
}
