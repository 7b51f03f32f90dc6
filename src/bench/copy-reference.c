/*
 * remusd-copy-reference: the frozen-time bench's yardstick. It does to the machine what CRIU's memory dump
 * does, without freezing anything: it keeps a buffer of the dump's size resident and, each time it is asked,
 * moves it into a file the way CRIU moves a frozen process's pages (vmsplice into a pipe, then splice from
 * the pipe into the image file, a chunk at a time), then deletes the file. The spread of its times over a run
 * is the machine's own spread for that work, measured right beside each dump.
 * Usage: remusd-copy-reference DIR MIB. Prints "ready" once its buffer is resident; then for each line on
 * stdin one line "copy_us=<µs> bytes=<n>" on stdout. Exits 0 at EOF on stdin, 2 on a usage or I/O error.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* CRIU's page pipes grow up to the system's pipe-max-size (1 MiB by default): the same chunk here. */
#define CHUNK (1u << 20)

static void fail(const char *what) {
  fprintf(stderr, "remusd-copy-reference: %s\n", what);
  exit(2);
}

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int main(int argc, char **argv) {
  if (argc != 3) fail("usage: remusd-copy-reference DIR MIB");
  long mib = strtol(argv[2], NULL, 10);
  if (mib <= 0 || mib > 4096) fail("MIB must be 1..4096");
  size_t size = (size_t)mib << 20;
  char *buffer = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buffer == MAP_FAILED) fail("cannot map the buffer");
  madvise(buffer, size, MADV_NOHUGEPAGE); /* 4 KiB pages, like the dirtier's */
  for (size_t at = 0; at < size; at += 4096) buffer[at] = (char)(at >> 12);
  char path[4096];
  snprintf(path, sizeof path, "%s/copy-reference.img", argv[1]);
  int pipes[2];
  if (pipe(pipes) != 0) fail("cannot make a pipe");
  if (fcntl(pipes[1], F_SETPIPE_SZ, CHUNK) < (int)CHUNK) fail("cannot grow the pipe to 1 MiB");
  printf("ready\n");
  fflush(stdout);

  char line[64];
  while (fgets(line, sizeof line, stdin) != NULL) {
    uint64_t began = now_us();
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0) fail("cannot create the copy in DIR");
    for (size_t at = 0; at < size;) {
      struct iovec chunk = { buffer + at, size - at < CHUNK ? size - at : CHUNK };
      ssize_t queued = vmsplice(pipes[1], &chunk, 1, 0);
      if (queued <= 0) fail("vmsplice failed");
      at += (size_t)queued;
      while (queued > 0) {
        ssize_t moved = splice(pipes[0], NULL, out, NULL, (size_t)queued, SPLICE_F_MOVE);
        if (moved <= 0) fail("splice into the copy failed");
        queued -= moved;
      }
    }
    uint64_t took = now_us() - began;
    close(out);
    unlink(path);
    printf("copy_us=%" PRIu64 " bytes=%zu\n", took, size);
    fflush(stdout);
  }
  return 0;
}
