/*
 * remusd-tcp-holder: the throwaway network workload of `remusd check`. It holds what a real service holds,
 * a listening TCP socket and an established connection (both ends, over the loopback of whatever network
 * namespace it runs in), and keeps the connection busy: every 20 ms it sends 8 bytes one way and reads them
 * back on the other end. A dump that breaks the connection (a network lock never lifted, a socket left in
 * repair mode) makes it print "broken: <why>" and exit 3, so the check sees it.
 *
 * Output, one line each, to stdout:
 *   ready port=<listening port>
 *   broken: <what failed>
 * Usage: remusd-tcp-holder   (runs until killed)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void broken(const char *what) {
  printf("broken: %s: %s\n", what, strerror(errno));
  fflush(stdout);
  exit(3);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) broken("socket");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
  socklen_t len = sizeof addr;
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) broken("bind");
  if (listen(listener, 4) < 0) broken("listen");
  if (getsockname(listener, (struct sockaddr *)&addr, &len) < 0) broken("getsockname");
  int client = socket(AF_INET, SOCK_STREAM, 0);
  if (client < 0) broken("socket");
  if (connect(client, (struct sockaddr *)&addr, sizeof addr) < 0) broken("connect");
  int server = accept(listener, NULL, NULL);
  if (server < 0) broken("accept");
  printf("ready port=%d\n", ntohs(addr.sin_port));
  for (unsigned long long n = 0;; n++) {
    char in[8];
    if (send(client, &n, sizeof n, 0) != (ssize_t)sizeof n) broken("send");
    if (recv(server, in, sizeof in, MSG_WAITALL) != (ssize_t)sizeof in) broken("recv");
    if (memcmp(in, &n, sizeof n) != 0) {
      errno = EPROTO;
      broken("compare");
    }
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
    while (nanosleep(&pause, &pause) < 0 && errno == EINTR) {
    }
  }
}
