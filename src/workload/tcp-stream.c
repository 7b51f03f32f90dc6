/*
 * remusd-tcp-stream: one bulk TCP stream, for the gate's throughput bench (a TCP row beside the UDP one).
 * C for the same reason as udp-stream.c: what is measured is the path (veth, tc, the gate), not the ends.
 *
 *   send HOST PORT MS     connect, write 64 KiB blocks for MS milliseconds, close. Prints "sent <bytes>".
 *   recv ADDR PORT        listen on ADDR:PORT (0: any free port) and print "ready <port>"; accept one
 *                         connection and read it to its end. Prints "received <bytes> span_us <from the
 *                         first byte to the last>".
 */
#define _GNU_SOURCE
#include "stream-util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (64 << 10)

static int usage(void) {
  fprintf(stderr, "usage: remusd-tcp-stream send HOST PORT MS | recv ADDR PORT\n");
  return 2;
}

static int send_stream(const char *host, const char *port, uint64_t ms) {
  struct sockaddr_in to;
  if (address(host, port, &to) != 0) return usage();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0) { perror("remusd-tcp-stream: connect"); return 1; }
  static unsigned char block[BLOCK];
  memset(block, 0x5a, sizeof block);
  uint64_t sent = 0, until = now_us() + ms * 1000u;
  while (now_us() < until) {
    ssize_t n = write(fd, block, sizeof block);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { perror("remusd-tcp-stream: write"); return 1; }
    sent += (uint64_t)n;
  }
  close(fd);
  printf("sent %" PRIu64 "\n", sent);
  return 0;
}

static int receive_stream(const char *addr, const char *port) {
  struct sockaddr_in at;
  if (address(addr, port, &at) != 0) return usage();
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, (struct sockaddr *)&at, sizeof at) != 0 || listen(fd, 1) != 0) { perror("remusd-tcp-stream: listen"); return 1; }
  socklen_t len = sizeof at;
  getsockname(fd, (struct sockaddr *)&at, &len);
  printf("ready %u\n", ntohs(at.sin_port));
  int conn = accept(fd, NULL, NULL);
  if (conn < 0) { perror("remusd-tcp-stream: accept"); return 1; }
  static unsigned char buffer[BLOCK];
  uint64_t received = 0, first = 0, last = 0;
  for (;;) {
    ssize_t n = read(conn, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    last = now_us();
    if (received == 0) first = last;
    received += (uint64_t)n;
  }
  printf("received %" PRIu64 " span_us %" PRIu64 "\n", received, last - first);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 5 && strcmp(argv[1], "send") == 0) return send_stream(argv[2], argv[3], strtoull(argv[4], NULL, 10));
  if (argc == 4 && strcmp(argv[1], "recv") == 0) return receive_stream(argv[2], argv[3]);
  return usage();
}
