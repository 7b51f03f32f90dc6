/*
 * remusd-notify: sends remusd's service notifications (sd_notify(3): READY=1, RELOADING=1, STOPPING=1,
 * STATUS=..., WATCHDOG=1) to the unix datagram socket systemd names in NOTIFY_SOCKET. Node has no unix
 * datagram sockets; this helper lives as long as remusd and sends what remusd writes on its stdin.
 *
 * Input: messages separated by a NUL byte, each at most MAX_MESSAGE bytes (a longer one is cut there).
 * Each message goes out as one datagram carrying SCM_CREDENTIALS with remusd's pid (--parent), so that
 * systemd attributes it to the unit's main process and NotifyAccess=main suffices: the workload, which
 * runs in the same cgroup, cannot send READY=1 or WATCHDOG=1 for remusd. The kernel lets a process name
 * another pid only with CAP_SYS_ADMIN (remusd runs as root for CRIU); without it the datagram is sent with
 * the helper's own credentials (then the unit needs NotifyAccess=all), and that is said once on stderr.
 *
 * Errors go to stderr, one line per new error; the helper keeps going (systemd may be re-executing itself). It dies
 * with remusd: PR_SET_PDEATHSIG, and EOF on stdin.
 *
 * Usage: NOTIFY_SOCKET=/run/systemd/notify remusd-notify --parent PID
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_MESSAGE 4096

static int sock;
static struct sockaddr_un address;
static socklen_t address_len;
static pid_t parent;
static int own_credentials; /* 1 once naming the parent's pid was refused (EPERM) */
static int failing;         /* errno of the last failed send, 0 after a success: each failure is said once */

static int send_message(const char *text, size_t len) {
  struct iovec iov = { .iov_base = (void *)text, .iov_len = len };
  union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(struct ucred))]; } control;
  struct msghdr msg = { .msg_name = &address, .msg_namelen = address_len, .msg_iov = &iov, .msg_iovlen = 1 };
  if (!own_credentials) {
    memset(&control, 0, sizeof control);
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_CREDENTIALS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred cred = { .pid = parent, .uid = getuid(), .gid = getgid() };
    memcpy(CMSG_DATA(cmsg), &cred, sizeof cred);
  }
  if (sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0) {
    failing = 0;
    return 0;
  }
  if (errno == EPERM && !own_credentials) {
    own_credentials = 1;
    fprintf(stderr, "cannot send as pid %d (no CAP_SYS_ADMIN): notifications come from pid %d, the unit needs NotifyAccess=all\n", (int)parent, (int)getpid());
    return send_message(text, len);
  }
  /* A missing socket fails every second (STATUS, WATCHDOG): say it once, and again only if it changes. */
  if (errno != failing) fprintf(stderr, "send to NOTIFY_SOCKET failed: %s (said once until a send succeeds)\n", strerror(errno));
  failing = errno;
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 3 || strcmp(argv[1], "--parent") != 0) {
    fprintf(stderr, "usage: NOTIFY_SOCKET=PATH remusd-notify --parent PID\n");
    return 2;
  }
  parent = (pid_t)atoi(argv[2]);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) return 0; /* remusd is gone already */
  const char *path = getenv("NOTIFY_SOCKET");
  size_t path_len = path == NULL ? 0 : strlen(path);
  if (path_len < 2 || (path[0] != '/' && path[0] != '@') || path_len >= sizeof address.sun_path) {
    fprintf(stderr, "NOTIFY_SOCKET must be an absolute path or @abstract name shorter than %zu bytes\n", sizeof address.sun_path);
    return 2;
  }
  address.sun_family = AF_UNIX;
  memcpy(address.sun_path, path, path_len);
  if (path[0] == '@') address.sun_path[0] = '\0'; /* abstract namespace: no terminating NUL counted */
  address_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + (path[0] == '@' ? 0 : 1));
  sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    fprintf(stderr, "socket: %s\n", strerror(errno));
    return 1;
  }
  static char message[MAX_MESSAGE];
  size_t len = 0;
  int truncated = 0;
  char chunk[4096];
  for (;;) {
    ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0; /* remusd closed our stdin: it is exiting */
    for (ssize_t i = 0; i < n; i++) {
      if (chunk[i] != '\0') {
        if (len < MAX_MESSAGE) message[len++] = chunk[i];
        else truncated = 1;
        continue;
      }
      if (truncated) fprintf(stderr, "a message longer than %d bytes was cut\n", MAX_MESSAGE);
      if (len > 0) send_message(message, len);
      len = 0;
      truncated = 0;
    }
  }
}
