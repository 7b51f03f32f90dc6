// Dropping a file's pages from the page cache once they are on disk.
//
// Why (measured here, issue 11): on this VM, memory the guest has not used for a few seconds goes back to
// the host (virtio-balloon free page reporting), and reusing it costs a host fault per page. Writing 64 MiB
// took ~120 ms when the previous 64 MiB file's pages had just been freed, but ~700 ms (6×) when that file
// was kept in the cache, and ~130 ms again when it was flushed and dropped first. A delta chain start keeps
// CRIU's 64 MiB dump, so the next dump's image had to come out of cold memory: CRIU wrote it with the
// workload frozen, 3–4× the median frozen time. Dropping the kept image right after it is written (outside
// the freeze) gives its pages back while they are still warm.
//
// Node has no posix_fadvise; coreutils dd does exactly this with `oflag=nocache conv=notrunc,fdatasync
// count=0`: fdatasync the file, then POSIX_FADV_DONTNEED over all of it (dirty pages cannot be dropped).

import { execFile } from 'node:child_process';

/** Flushes each file to disk and drops its pages from the page cache; rejects with dd's message on failure. */
export async function flushAndDropCache(paths: readonly string[], timeoutMs = 30_000): Promise<void> {
  for (const path of paths) {
    await new Promise<void>((resolve, reject) => {
      execFile(
        'dd',
        [`of=${path}`, 'oflag=nocache', 'conv=notrunc,fdatasync', 'count=0', 'status=none'],
        { timeout: timeoutMs },
        (error, _stdout, stderr) =>
          error === null
            ? resolve()
            : reject(new Error(`dd (flush and drop the page cache of ${path}): ${stderr.trim() || error.message}`)),
      );
    });
  }
}
