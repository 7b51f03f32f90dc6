/*
 * remusd-watchdog: the fence that outlives remusd. While remusd holds the leader lease for a workload, this
 * helper watches remusd itself. If remusd dies (kill -9, the OOM killer, a crash) its lease is no longer
 * renewed and another host will take the workload over once the lease runs out; the workload must not run on
 * here meanwhile. So when this helper sees remusd gone, or sees no renewal news before a deadline (remusd
 * hung or stopped), it does what the fence would have done: SIGSTOP (freeze) or SIGKILL (kill) the workload's
 * whole process tree, writes fenced.json, and exits.
 *
 * Control: one command per line on stdin (remusd keeps the write end; nobody else has it):
 *   arm MS     the lease is good for MS more ms: fence if no newer `arm` arrives within MS (monotonic clock)
 *   disarm     remusd ended the guard on purpose (released, or let the lease run out): exit, do nothing
 *   fenced     remusd fenced the workload itself: stop the tree again once no CRIU traces it, then exit
 *   EOF        remusd is gone (the kernel closes its pipes when it dies, however it dies): fence now
 *
 * Why a pipe and not PR_SET_PDEATHSIG: the death signal fires when the parent THREAD exits (Node runs worker
 * threads), and the helper lives in its own session so that a signal to remusd's process group does not take
 * it along. The workload's root is held by a pidfd, so a recycled pid is never signalled.
 *
 * Usage: remusd-watchdog --pid WORKLOAD --action freeze|kill --parent PID --report PATH --fields JSON
 *   --fields: the report's fixed members as a JSON object text without its closing brace; this helper adds
 *   reason, at, pids, stop_ms and by.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define MAX_PIDS 4096
#define MAX_LINE 128

static int root_pid, root_fd = -1, parent_pid, do_kill;
static const char *report_path, *fields;
static int pids[MAX_PIDS];
static int npids;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int known(int pid) {
  for (int i = 0; i < npids; i++)
    if (pids[i] == pid) return 1;
  return 0;
}

static void stop_one(int pid) {
  if (known(pid) || npids >= MAX_PIDS) return;
  pids[npids++] = pid;
  if (pid == root_pid && root_fd >= 0) syscall(SYS_pidfd_send_signal, root_fd, SIGSTOP, NULL, 0);
  else kill(pid, SIGSTOP);
}

/* One pass over /proc: stops every process whose parent is stopped already, or that is in the root's session
 * (the workload is a session leader). Returns how many it stopped. */
static int stop_pass(void) {
  DIR *dir = opendir("/proc");
  if (dir == NULL) return 0;
  int before = npids;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (!isdigit((unsigned char)entry->d_name[0])) continue;
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", entry->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = 0;
    char *close_paren = strrchr(buf, ')');
    if (close_paren == NULL) continue;
    char state;
    int ppid, pgrp, sid;
    if (sscanf(close_paren + 2, "%c %d %d %d", &state, &ppid, &pgrp, &sid) != 4) continue;
    int pid = atoi(entry->d_name);
    if (pid == getpid() || state == 'Z' || state == 'X') continue;
    if (known(ppid) || sid == root_pid) stop_one(pid);
  }
  closedir(dir);
  return npids - before;
}

static void json_string(FILE *out, const char *text) {
  fputc('"', out);
  for (const char *p = text; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
    else if ((unsigned char)*p < 0x20) fprintf(out, "\\u%04x", *p);
    else fputc(*p, out);
  }
  fputc('"', out);
}

/* fsyncs the directory holding path: the renamed report's name is durable only then (as src/fs/atomic-file.ts). */
static int fsync_parent(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL) snprintf(dir, sizeof dir, ".");
  else if (slash == dir) slash[1] = 0;
  else *slash = 0;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int result = fsync(fd);
  close(fd);
  return result;
}

static struct timespec decided; /* when the fence was decided (the report's "at", as remusd's own fence has it) */

static void write_report(const char *reason, double stop_ms) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.watchdog.tmp", report_path);
  FILE *out = fopen(tmp, "w");
  if (out == NULL) {
    fprintf(stderr, "remusd-watchdog: cannot write %s: %s\n", tmp, strerror(errno));
    return;
  }
  struct timespec ts = decided;
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char at[64];
  strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%S", &tm);
  fprintf(out, "%s,\"by\":\"watchdog\",\"reason\":", fields);
  json_string(out, reason);
  fprintf(out, ",\"at\":\"%s.%03ldZ\",\"pids\":[", at, ts.tv_nsec / 1000000);
  for (int i = 0; i < npids; i++) fprintf(out, "%s%d", i ? "," : "", pids[i]);
  fprintf(out, "],\"stop_ms\":%.3f}\n", stop_ms);
  if (fflush(out) != 0 || fsync(fileno(out)) != 0 || fclose(out) != 0 || rename(tmp, report_path) != 0 ||
      fsync_parent(report_path) != 0)
    fprintf(stderr, "remusd-watchdog: cannot write %s: %s\n", report_path, strerror(errno));
}

/* The pid tracing pid (CRIU while it dumps), 0 for none, -1 when the process is gone. */
static int tracer_of(int pid) {
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  const char *line = strstr(buf, "\nTracerPid:");
  return line == NULL ? 0 : atoi(line + strlen("\nTracerPid:"));
}

/* A CRIU dump that was running when remusd died goes on by itself and, with --leave-running, resumes the tasks
 * it seized when it is done: a SIGSTOP sent meanwhile can be lost. So a freeze waits until nothing traces the
 * workload any more (bounded: a dump is done in seconds) and stops the tree once more. */
static void refreeze_after_tracer(void) {
  for (int i = 0; i < 6000; i++) {
    int tracer = tracer_of(root_pid);
    if (tracer < 0) return;
    if (tracer == 0) break;
    usleep(10000);
  }
  for (int i = 0; i < npids; i++) {
    if (pids[i] == root_pid && root_fd >= 0) syscall(SYS_pidfd_send_signal, root_fd, SIGSTOP, NULL, 0);
    else kill(pids[i], SIGSTOP);
  }
  for (int pass = 0; pass < 10; pass++)
    if (stop_pass() == 0) break;
}

static void fence(const char *reason) {
  clock_gettime(CLOCK_REALTIME, &decided);
  double started = now_ms();
  stop_one(root_pid); /* first: a stopped root forks no more children */
  for (int pass = 0; pass < 10; pass++)
    if (stop_pass() == 0 && pass > 0) break;
  if (do_kill) {
    for (int i = 0; i < npids; i++) {
      if (pids[i] == root_pid && root_fd >= 0) syscall(SYS_pidfd_send_signal, root_fd, SIGKILL, NULL, 0);
      else kill(pids[i], SIGKILL);
    }
  }
  double stop_ms = now_ms() - started;
  fprintf(stderr,
          "remusd-watchdog: FENCED: %s. %s the workload (pid %d, %d process(es)) in %.1f ms. This host no longer runs "
          "the workload: another host may take it over.%s\n",
          reason, do_kill ? "KILLED" : "FROZE (SIGSTOP)", root_pid, npids, stop_ms,
          do_kill ? "" : " Do not SIGCONT it; kill it once the other host has taken over.");
  write_report(reason, stop_ms);
  if (!do_kill) refreeze_after_tracer();
}

int main(int argc, char **argv) {
  const char *action = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--pid") == 0) root_pid = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--action") == 0) action = argv[i + 1];
    else if (strcmp(argv[i], "--parent") == 0) parent_pid = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--report") == 0) report_path = argv[i + 1];
    else if (strcmp(argv[i], "--fields") == 0) fields = argv[i + 1];
  }
  if (root_pid <= 0 || parent_pid <= 0 || action == NULL || report_path == NULL || fields == NULL ||
      (strcmp(action, "freeze") != 0 && strcmp(action, "kill") != 0)) {
    fprintf(stderr, "usage: remusd-watchdog --pid WORKLOAD --action freeze|kill --parent PID --report PATH --fields JSON\n");
    return 2;
  }
  do_kill = strcmp(action, "kill") == 0;
  /* Interrupts and hang-ups meant for remusd's terminal are not for us; only SIGKILL ends the watch. */
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  root_fd = (int)syscall(SYS_pidfd_open, root_pid, 0);
  if (root_fd < 0) {
    fprintf(stderr, "remusd-watchdog: workload %d: %s\n", root_pid, strerror(errno));
    return 3;
  }
  printf("ready %d\n", root_pid);
  fflush(stdout);

  double deadline = -1; /* not armed yet: only EOF fences */
  char line[MAX_LINE];
  size_t have = 0;
  for (;;) {
    int timeout = -1;
    if (deadline >= 0) {
      double left = deadline - now_ms();
      if (left <= 0) {
        char reason[128];
        snprintf(reason, sizeof reason, "remusd (pid %d) sent no lease renewal before the deadline (hung or stopped)", parent_pid);
        fence(reason);
        return 0;
      }
      timeout = (int)left + 1;
    }
    struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = root_fd, .events = POLLIN}};
    int ready = poll(fds, 2, timeout);
    if (ready < 0 && errno != EINTR) return 4;
    if (ready <= 0) continue;
    if (fds[1].revents & POLLIN) return 0; /* the workload exited by itself: nothing to fence */
    if (fds[0].revents == 0) continue;
    ssize_t n = read(0, line + have, sizeof line - 1 - have);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      char reason[96];
      snprintf(reason, sizeof reason, "remusd (pid %d) died while it held the lease", parent_pid);
      fence(reason);
      return 0;
    }
    have += (size_t)n;
    line[have] = 0;
    char *newline;
    while ((newline = strchr(line, '\n')) != NULL) {
      *newline = 0;
      long ms;
      if (strcmp(line, "disarm") == 0) return 0;
      if (strcmp(line, "fenced") == 0) {
        /* remusd stopped the tree already; a dump it killed or that finishes resumes what it had seized. */
        if (!do_kill) {
          stop_one(root_pid);
          for (int pass = 0; pass < 10; pass++)
            if (stop_pass() == 0) break;
          refreeze_after_tracer();
        }
        return 0;
      }
      if (sscanf(line, "arm %ld", &ms) == 1 && ms >= 0) deadline = now_ms() + (double)ms;
      else fprintf(stderr, "remusd-watchdog: ignored command \"%s\"\n", line);
      size_t rest = have - (size_t)(newline + 1 - line);
      memmove(line, newline + 1, rest + 1);
      have = rest;
    }
    if (have >= sizeof line - 1) have = 0; /* an overlong line is garbage: drop it */
  }
}
