// For tests: how many of each file's page-cache pages are dirty or under writeback, by the kernel's
// cachestat(2) (Linux 6.5+). A page written and not yet fsynced is dirty; after fsync returns it is neither.
// Usage: cachestat FILE... ; prints "DIRTY WRITEBACK" per file, one line each.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

struct cachestat_range {
  uint64_t off, len;
};
struct cachestat {
  uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    int fd = open(argv[i], O_RDONLY);
    if (fd < 0) {
      fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
      return 2;
    }
    struct cachestat_range range = {0, 0}; /* len 0: to the end of the file */
    struct cachestat stats;
    if (syscall(__NR_cachestat, fd, &range, &stats, 0) != 0) {
      fprintf(stderr, "cachestat(%s): %s (the kernel needs Linux 6.5 or later)\n", argv[i], strerror(errno));
      return 3;
    }
    printf("%llu %llu\n", (unsigned long long)stats.nr_dirty, (unsigned long long)stats.nr_writeback);
    close(fd);
  }
  return 0;
}
