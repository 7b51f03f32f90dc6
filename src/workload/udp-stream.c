/*
 * remusd-udp-stream: numbered UDP datagrams, for the gate's throughput bench and its lossless-lock test.
 * Written in C so that what is measured is the data path (veth, tc, the gate), not the sender or receiver:
 * a Node sender and receiver ran at ~8 MB/s here and bounded the plain veth path as much as the gate.
 *
 *   send HOST PORT MS SIZE [RATE]     send SIZE-byte datagrams for MS milliseconds, numbered from 0 (a
 *                                     big-endian u64 at the start of each), in sendmmsg batches of up to 64,
 *                                     as fast as possible or paced at RATE IP bytes per second; then three
 *                                     end markers (number 2^64-1). Prints "sent <count>".
 *   recv ADDR PORT IDLE_MS            receive on ADDR:PORT (0: any free port) until an end marker, or until
 *                                     IDLE_MS pass without a datagram once one has come. Prints "ready <port>"
 *                                     when bound, then at the end "received <count> bytes <IP bytes>
 *                                     span_us <first to last> next <highest number + 1> missing <never seen>
 *                                     reordered <arrived after a higher number>".
 */
#define _GNU_SOURCE
#include "stream-util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_SIZE 65507
#define END_MARKER UINT64_MAX
/* Numbers are tracked in a bitmap for the missing count: 2^26 datagrams, far more than a bench run sends. */
#define MAX_TRACKED (1u << 26)

static void put_number(unsigned char *p, uint64_t n) {
  for (int i = 7; i >= 0; i--, n >>= 8) p[i] = (unsigned char)n;
}

static uint64_t get_number(const unsigned char *p) {
  uint64_t n = 0;
  for (int i = 0; i < 8; i++) n = (n << 8) | p[i];
  return n;
}

static int usage(void) {
  fprintf(stderr, "usage: remusd-udp-stream send HOST PORT MS SIZE [RATE] | recv ADDR PORT IDLE_MS\n");
  return 2;
}

static int send_stream(int argc, char **argv) {
  struct sockaddr_in to;
  if (argc < 6 || address(argv[2], argv[3], &to) != 0) return usage();
  uint64_t ms = strtoull(argv[4], NULL, 10), rate = argc > 6 ? strtoull(argv[6], NULL, 10) : 0;
  size_t size = strtoull(argv[5], NULL, 10);
  if (size < 8 || size > MAX_SIZE) return usage();
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int buffer = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer) != 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0) { perror("remusd-udp-stream: connect"); return 1; }
  static unsigned char payload[BATCH][MAX_SIZE];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    memset(payload[i], 0x5a, size);
    iov[i] = (struct iovec){ payload[i], size };
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t sent = 0, start = now_us(), until = start + ms * 1000u, now;
  while ((now = now_us()) < until) {
    unsigned count = BATCH;
    if (rate > 0) {
      /* Paced: as many as are due by now at RATE (IP bytes: payload + 28 header bytes), at most a batch. */
      uint64_t due = (now - start) * rate / 1000000u / (size + 28);
      if (due <= sent) { usleep(50); continue; }
      if (due - sent < count) count = (unsigned)(due - sent);
    }
    for (unsigned i = 0; i < count; i++) put_number(payload[i], sent + i);
    int n = sendmmsg(fd, msgs, count, 0);
    if (n < 0) {
      /* A full queue (ENOBUFS) or an unreachable peer for a moment: try again, the numbers stay in order. */
      if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR || errno == ECONNREFUSED) continue;
      perror("remusd-udp-stream: sendmmsg");
      return 1;
    }
    sent += (uint64_t)n;
  }
  put_number(payload[0], END_MARKER);
  for (int i = 0; i < 3; i++) {
    send(fd, payload[0], size, 0);
    usleep(10000);
  }
  printf("sent %" PRIu64 "\n", sent);
  return 0;
}

static int receive_stream(int argc, char **argv) {
  struct sockaddr_in at;
  if (argc != 5 || address(argv[2], argv[3], &at) != 0) return usage();
  int idle_ms = atoi(argv[4]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  /* A gate releases an epoch's datagrams in one burst: a default-sized buffer (rmem_max, ~208 KiB) would
   * overflow and count the receiver's loss as the gate's. FORCE (root) lifts the rmem_max cap. */
  int buffer = 32 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  if (fd < 0 || bind(fd, (struct sockaddr *)&at, sizeof at) != 0) { perror("remusd-udp-stream: bind"); return 1; }
  socklen_t len = sizeof at;
  getsockname(fd, (struct sockaddr *)&at, &len);
  printf("ready %u\n", ntohs(at.sin_port));
  fflush(stdout);
  unsigned char *seen = calloc(MAX_TRACKED / 8, 1);
  static unsigned char data[BATCH][2048];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  uint64_t received = 0, bytes = 0, first = 0, last = 0, next = 0, reordered = 0, distinct = 0;
  int ended = 0;
  while (!ended) {
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    /* The idle time counts from the last datagram, not from this poll: a checkpoint (CRIU's ptrace) can
     * interrupt the poll every 100 ms, which would otherwise start the wait over each time. */
    int wait_ms = -1;
    if (received > 0) {
      uint64_t idle_us = now_us() - last;
      if (idle_us >= (uint64_t)idle_ms * 1000u) break;
      wait_ms = (int)(((uint64_t)idle_ms * 1000u - idle_us + 999) / 1000);
    }
    int ready = poll(&pfd, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    if (ready == 0) continue;
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
      iov[i] = (struct iovec){ data[i], sizeof data[i] };
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      perror("remusd-udp-stream: recvmmsg");
      return 1;
    }
    uint64_t now = now_us();
    for (int i = 0; i < n; i++) {
      if (msgs[i].msg_len < 8) continue;
      uint64_t number = get_number(data[i]);
      if (number == END_MARKER) { ended = 1; continue; }
      if (received == 0) first = now;
      last = now;
      received++;
      bytes += msgs[i].msg_len + 28; /* IPv4 + UDP headers: the bytes the path carried */
      if (number < next) reordered++;
      else next = number + 1;
      if (number < MAX_TRACKED && !(seen[number / 8] & (1u << (number % 8)))) {
        seen[number / 8] |= (unsigned char)(1u << (number % 8));
        distinct++;
      }
    }
  }
  uint64_t tracked = next < MAX_TRACKED ? next : MAX_TRACKED;
  printf("received %" PRIu64 " bytes %" PRIu64 " span_us %" PRIu64 " next %" PRIu64 " missing %" PRIu64 " reordered %" PRIu64 "\n",
         received, bytes, last - first, next, tracked - distinct, reordered);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 2 && strcmp(argv[1], "send") == 0) return send_stream(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "recv") == 0) return receive_stream(argc, argv);
  return usage();
}
