/* What the bench's stream programs (udp-stream.c, tcp-stream.c) share: a clock and IPv4 addresses. */
#ifndef REMUSD_STREAM_UTIL_H
#define REMUSD_STREAM_UTIL_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* HOST:PORT as a socket address; -1 when HOST is not an IPv4 address. */
static inline int address(const char *host, const char *port, struct sockaddr_in *out) {
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons((uint16_t)atoi(port));
  return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

#endif
