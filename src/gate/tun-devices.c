/* The gate helper's devices: its TUN and TAP, and the packet socket inbound frames go on through. */
#define _GNU_SOURCE
#include "tun-devices.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Sets a device's txqueuelen (for TUN and TAP devices: how many packets the kernel queues for the reader). */
static int set_queue_length(const char *device, int length) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", device);
  ifr.ifr_qlen = length;
  int ok = sock >= 0 && ioctl(sock, SIOCSIFTXQLEN, &ifr) == 0;
  if (!ok) dprintf(2, "remusd-gate: cannot set the queue length of %s: %s\n", device, strerror(errno));
  if (sock >= 0) close(sock);
  return ok ? 0 : -1;
}

/* Opens a TUN (IFF_TUN) or TAP (IFF_TAP) device NAME, non-blocking, with a queue of `queue` packets. */
int open_tun(const char *name, int kind, int queue) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) { dprintf(2, "remusd-gate: open /dev/net/tun: %s\n", strerror(errno)); return -1; }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = (short)(kind | IFF_NO_PI);
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) { dprintf(2, "remusd-gate: TUNSETIFF %s: %s\n", name, strerror(errno)); return -1; }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return set_queue_length(name, queue) == 0 ? fd : -1;
}

/* A packet socket that transmits whole Ethernet frames on DEVICE, past its qdisc and tc egress hook. */
int open_onward(const char *device) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* protocol 0: it receives nothing */
  int one = 1;
  struct sockaddr_ll at = { .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(device) };
  if (fd < 0 || at.sll_ifindex == 0 || setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&at, sizeof at) != 0) {
    dprintf(2, "remusd-gate: cannot send on %s: %s\n", device, strerror(errno));
    return -1;
  }
  return fd;
}

/* Sends on what the TAP has queued (see tun-devices.h). */
void forward_frames(int tap_fd, int onward_fd, int limit, uint64_t *packets, uint64_t *bytes) {
  static unsigned char frame[65536];
  for (int i = 0; i < limit; i++) {
    ssize_t n = read(tap_fd, frame, sizeof frame);
    if (n < 0 && errno == EINTR) { i--; continue; }
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      dprintf(2, "remusd-gate: read from the TAP device failed: %s\n", n < 0 ? strerror(errno) : "end of file");
      _exit(1);
    }
    /* The veth's peer queue can be full for a moment (ENOBUFS) when a held burst goes out: retry briefly; a
     * frame the kernel still refuses is lost as on a wire, and TCP resends it. */
    for (int attempt = 0; attempt < 100; attempt++) {
      if (send(onward_fd, frame, (size_t)n, 0) >= 0 || (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)) break;
      usleep(100);
    }
    *packets += 1;
    *bytes += (uint64_t)n;
  }
}

/* UDP segmentation offload (Linux 6.2+); older uapi headers lack the flags. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

/*
 * Lets the kernel hand the TUN whole GSO packets. Without offloads a TUN advertises no segmentation and no
 * checksum offload, so every 64 KiB TCP packet the workload sends is cut into ~45 packets of 1500 bytes (and
 * checksummed) on its way in, and the helper reads, stores and writes each. With them, the virtio_net_hdr in
 * front of each packet says how it is to be segmented and where its checksum goes; the helper keeps it with
 * the packet and writes both back unchanged, so the host's stack receives the packet as the veth would have
 * delivered it. TUN_F_CSUM is the prerequisite of the others. USO is Linux 6.2+, and a kernel refuses
 * (EINVAL) any flag it does not know: each set is tried, richest first.
 */
const char *set_offload(int fd) {
  static const struct { unsigned flags; const char *name; } sets[] = {
    { TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6, "csum,tso4,tso6,tso_ecn,uso4,uso6" },
    { TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN, "csum,tso4,tso6,tso_ecn" },
    { TUN_F_CSUM, "csum" },
  };
  for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
    if (ioctl(fd, TUNSETOFFLOAD, sets[i].flags) == 0) return sets[i].name;
  dprintf(2, "remusd-gate: TUNSETOFFLOAD: %s: GSO packets are segmented before the gate\n", strerror(errno));
  return "none";
}
