/*
 * remusd-exchange A B: swaps two directory entries atomically (renameat2 RENAME_EXCHANGE), then fsyncs
 * their parent directory, so that after a crash one sees either both old names or both new ones.
 *
 * Why a helper: a compaction replaces a checkpoint directory that later links name as their parent. A
 * directory cannot be renamed over a non-empty one, and two renames leave a moment with no directory of
 * that name at all (a restore then would fail). Node has no renameat2.
 * Exit: 0 done, 1 the exchange or the fsync failed (message on stderr), 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: remusd-exchange A B (two entries of one directory)\n");
    return 2;
  }
  if (renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) != 0) {
    fprintf(stderr, "renameat2(%s, %s, RENAME_EXCHANGE): %s\n", argv[1], argv[2], strerror(errno));
    return 1;
  }
  char parent[4096];
  snprintf(parent, sizeof parent, "%s", argv[2]);
  int fd = open(dirname(parent), O_RDONLY | O_DIRECTORY);
  if (fd < 0 || fsync(fd) != 0) {
    fprintf(stderr, "fsync of the directory of %s: %s\n", argv[2], strerror(errno));
    return 1;
  }
  close(fd);
  return 0;
}
