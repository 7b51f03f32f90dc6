// What CRIU reports about one dump, pre-dump or restore (the stats-dump / stats-restore images).
// Times are microseconds as CRIU writes them (u32: they wrap after about 71.6 minutes).
// Page counts are u64 on the wire; numbers here (exact up to 2^53 pages, i.e. 32 EiB of 4 KiB pages).

export interface DumpStats {
  freezing_time: number;
  frozen_time: number;
  memdump_time: number;
  memwrite_time: number;
  pages_scanned: number;
  pages_skipped_parent: number;
  pages_written: number;
  irmap_resolve?: number;
  pages_lazy?: number;
  page_pipes?: number;
  page_pipe_bufs?: number;
  shpages_scanned?: number;
  shpages_skipped_parent?: number;
  shpages_written?: number;
}

export interface RestoreStats {
  pages_compared: number;
  pages_skipped_cow: number;
  forking_time: number;
  restore_time: number;
  pages_restored?: number;
}

/** Bytes a dump stored: (pages_written + shpages_written) × page size. */
export function checkpointSizeBytes(stats: DumpStats, pageSize: number): number {
  return pagesSizeBytes(stats.pages_written, stats.shpages_written, pageSize);
}

/** The bytes of so many private and shared pages written. */
export function pagesSizeBytes(pagesWritten: number, shpagesWritten: number | undefined, pageSize: number): number {
  return (pagesWritten + (shpagesWritten ?? 0)) * pageSize;
}
