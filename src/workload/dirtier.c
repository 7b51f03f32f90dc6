/*
 * remusd-dirtier: the bundled workload. It keeps a buffer of pages resident and rewrites a known number of
 * them per second, in phases, so that the number of pages dirtied between two checkpoints is known exactly:
 * pages written per interval = min(rate × interval, buffer pages) (writes walk the buffer cyclically, so
 * the dirty set saturates at the buffer, like a real working set). The buffer is kept off transparent huge
 * pages, so dirty tracking (soft-dirty) sees those 4 KiB pages and not whole 2 MiB huge pages.
 *
 * Each page holds [index, generation, mix(index, generation)] in its first three words. The process keeps
 * the sum of all generations (= total page writes) in memory; every report it checks every page against
 * it, so a restore that brings back a stale or foreign page is caught ("CORRUPT", exit 3).
 *
 * Output, one line each, to stdout (open it in append mode: a restored process continues at the end):
 *   start pid=<pid> pages=<n> page_size=<b>
 *   phase index=<i> rate=<pages/s> seconds=<s>
 *   progress ticks=<n> writes=<n> t_ns=<CLOCK_MONOTONIC ns> rt_ns=<CLOCK_REALTIME ns> sum=<hex> phase=<i>
 * Usage: remusd-dirtier [--mib N] [--phases RATE:SECONDS[,RATE:SECONDS...]] [--tick-ms N] [--report-ms N]
 *        [--quit-after-s N] [--read-share F]
 *   RATE is pages per second; phases cycle forever. Default: --mib 64 --phases 256:1000000.
 *   --read-share F: also read F pages (one word each) per page written, walking the buffer from its middle:
 *   a reader's accessed bits for the dirty-size probe (src/process/dirty-probe.ts). Default 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_PHASES 64

struct phase { double rate; double seconds; };

static uint64_t mix(uint64_t index, uint64_t generation) {
  uint64_t x = index * 0x9E3779B97F4A7C15ull ^ (generation + 0x632BE59BD9B4E019ull);
  x ^= x >> 31; x *= 0xBF58476D1CE4E5B9ull; x ^= x >> 29;
  return x;
}

static uint64_t now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > 0) { ssize_t ignored = write(1, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1); (void)ignored; }
}

static void usage_error(const char *what) {
  dprintf(2, "remusd-dirtier: %s\n", what);
  exit(2);
}

static int parse_phases(const char *spec, struct phase *phases) {
  int n = 0;
  const char *p = spec;
  while (*p) {
    if (n == MAX_PHASES) usage_error("too many phases (at most 64)");
    char *end;
    phases[n].rate = strtod(p, &end);
    if (end == p || *end != ':' || phases[n].rate < 0) usage_error("--phases: expected RATE:SECONDS[,RATE:SECONDS...]");
    p = end + 1;
    phases[n].seconds = strtod(p, &end);
    if (end == p || phases[n].seconds <= 0) usage_error("--phases: SECONDS must be > 0");
    n++;
    p = end;
    if (*p == ',') p++;
    else if (*p) usage_error("--phases: expected ',' between phases");
  }
  if (n == 0) usage_error("--phases: no phase given");
  return n;
}

int main(int argc, char **argv) {
  double mib = 64, tick_ms = 10, report_ms = 100, quit_after_s = 0, read_share = 0;
  struct phase phases[MAX_PHASES] = {{256, 1e6}};
  int nphases = 1;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (i + 1 >= argc) usage_error("every option takes a value");
    const char *val = argv[++i];
    if (!strcmp(arg, "--mib")) mib = atof(val);
    else if (!strcmp(arg, "--phases")) nphases = parse_phases(val, phases);
    else if (!strcmp(arg, "--tick-ms")) tick_ms = atof(val);
    else if (!strcmp(arg, "--report-ms")) report_ms = atof(val);
    else if (!strcmp(arg, "--quit-after-s")) quit_after_s = atof(val);
    else if (!strcmp(arg, "--read-share")) read_share = atof(val);
    else usage_error("unknown option (see the comment at the top of dirtier.c)");
  }
  if (mib <= 0 || tick_ms <= 0 || report_ms <= 0) usage_error("--mib, --tick-ms and --report-ms must be > 0");
  if (read_share < 0) usage_error("--read-share must be >= 0");

  const size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
  const size_t pages = (size_t)(mib * 1024 * 1024) / page_size;
  const size_t words_per_page = page_size / sizeof(uint64_t);
  uint64_t *buffer = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buffer == MAP_FAILED) { dprintf(2, "remusd-dirtier: mmap: %s\n", strerror(errno)); return 1; }
  // No transparent huge pages: with THP (the default on Debian's kernels: enabled=always) the kernel tracks
  // soft-dirty per 2 MiB huge page, so one write would make 512 pages dirty for CRIU and the dirty set
  // would no longer be rate × interval. Failing is harmless (no THP support means 4 KiB pages anyway).
  (void)madvise(buffer, pages * page_size, MADV_NOHUGEPAGE);

  // Generation 1 everywhere: every page resident and distinct from the zero page.
  for (size_t i = 0; i < pages; i++) {
    uint64_t *page = buffer + i * words_per_page;
    page[0] = i; page[1] = 1; page[2] = mix(i, 1);
  }
  uint64_t writes = pages; // = sum of generations
  size_t cursor = 0;
  uint64_t ticks = 0;
  double owed = 0; // page writes due but not yet done (fractional part carried between ticks)
  size_t read_cursor = pages / 2; // reads walk half a buffer ahead of the writes: other pages than written
  double read_owed = 0;
  volatile uint64_t read_sink = 0;
  say("start pid=%d pages=%zu page_size=%zu\n", getpid(), pages, page_size);

  const uint64_t start_ns = now_ns(CLOCK_MONOTONIC);
  uint64_t next_tick = start_ns, next_report = start_ns, phase_end = start_ns, last_ns = start_ns;
  int phase = -1;
  for (;;) {
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    if (quit_after_s > 0 && now - start_ns >= (uint64_t)(quit_after_s * 1e9)) { say("quit writes=%" PRIu64 "\n", writes); return 0; }
    if (now >= phase_end) {
      phase = (phase + 1) % nphases;
      phase_end = now + (uint64_t)(phases[phase].seconds * 1e9);
      say("phase index=%d rate=%.0f seconds=%g\n", phase, phases[phase].rate, phases[phase].seconds);
    }
    // Writes follow wall time, not ticks: after being frozen by a checkpoint the process catches up, so
    // the pages dirtied between two checkpoint starts are rate × interval whatever the frozen time was.
    owed += phases[phase].rate * (double)(now - last_ns) / 1e9;
    last_ns = now;
    for (; owed >= 1; owed -= 1) {
      uint64_t *page = buffer + cursor * words_per_page;
      uint64_t generation = page[1] + 1;
      page[1] = generation; page[2] = mix(cursor, generation);
      writes++;
      cursor = (cursor + 1) % pages;
      for (read_owed += read_share; read_owed >= 1; read_owed -= 1) {
        read_sink += buffer[read_cursor * words_per_page];
        read_cursor = (read_cursor + 1) % pages;
      }
    }
    ticks++;
    if (now >= next_report) {
      uint64_t sum = 0, digest = 0xcbf29ce484222325ull;
      for (size_t i = 0; i < pages; i++) {
        const uint64_t *page = buffer + i * words_per_page;
        if (page[0] != i || page[2] != mix(i, page[1])) {
          say("CORRUPT page=%zu index=%" PRIu64 " generation=%" PRIu64 "\n", i, page[0], page[1]);
          return 3;
        }
        sum += page[1];
        digest = (digest ^ page[1]) * 0x100000001b3ull;
      }
      if (sum != writes) { say("CORRUPT sum=%" PRIu64 " writes=%" PRIu64 "\n", sum, writes); return 3; }
      say("progress ticks=%" PRIu64 " writes=%" PRIu64 " t_ns=%" PRIu64 " rt_ns=%" PRIu64 " sum=%016" PRIx64 " phase=%d\n",
          ticks, writes, now, now_ns(CLOCK_REALTIME), digest, phase);
      next_report += (uint64_t)(report_ms * 1e6);
      if (next_report < now) next_report = now;
    }
    next_tick += (uint64_t)(tick_ms * 1e6);
    uint64_t after = now_ns(CLOCK_MONOTONIC);
    if (next_tick > after) {
      struct timespec ts = { (time_t)((next_tick - after) / 1000000000ull), (long)((next_tick - after) % 1000000000ull) };
      nanosleep(&ts, NULL);
    } else {
      next_tick = after; // fell behind (frozen by a checkpoint): resume the tick grid from now
    }
  }
}
