/* remusd-counter-server: a tiny TCP service for the output-commit tests and bench: every line a client sends increments one counter, and
 * the reply is the new value ("INCR" as a number service). Single-threaded (poll), small: quick to dump.
 * Usage: counter-server PORT */
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 16

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 16) != 0) { perror("listen"); return 1; }
  struct pollfd fds[MAX_CLIENTS + 1] = { { .fd = listener, .events = POLLIN } };
  for (int i = 1; i <= MAX_CLIENTS; i++) fds[i].fd = -1;
  unsigned long long counter = 0;
  for (;;) {
    if (poll(fds, MAX_CLIENTS + 1, -1) < 0) continue;
    if (fds[0].revents & POLLIN) {
      int c = accept(listener, NULL, NULL);
      for (int i = 1; i <= MAX_CLIENTS && c >= 0; i++) if (fds[i].fd < 0) { fds[i] = (struct pollfd){ .fd = c, .events = POLLIN }; c = -1; }
      if (c >= 0) close(c);
    }
    for (int i = 1; i <= MAX_CLIENTS; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) { close(fds[i].fd); fds[i].fd = -1; continue; }
      char out[4096 * 2];
      size_t len = 0;
      for (ssize_t k = 0; k < n; k++) if (buf[k] == '\n' && len < sizeof out - 24) len += (size_t)snprintf(out + len, sizeof out - len, "%llu\n", ++counter);
      if (len > 0 && write(fds[i].fd, out, len) < 0) { close(fds[i].fd); fds[i].fd = -1; }
    }
  }
}
