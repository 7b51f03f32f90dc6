/*
 * remusd-gate: the output-commit gate for kernels without sch_plug. It owns a TUN device. remusd redirects
 * the workload's outbound packets into it (tc ingress on the host-side veth, u32 + mirred), and this helper
 * HOLDS them, per epoch, until told to release an epoch; released packets are written back to the TUN, so
 * the host stack receives them as if they had come straight from the veth. Nothing is ever released early.
 * Packets are read and written in batches, one io_uring_enter for up to 256 (src/gate/tun-batch.c): that
 * cut the helper's CPU per 1500-byte packet from 13-19 µs to 3-5.5 µs here. Held packets live in
 * src/gate/tun-store.c; the devices in src/gate/tun-devices.c.
 *
 * GSO: the TUN is opened with IFF_VNET_HDR and checksum and segmentation offload (TUNSETOFFLOAD), so the
 * workload's 64 KiB TCP packets reach the helper whole, each behind a virtio_net_hdr that says how to
 * segment it and where its checksum goes; header and packet are held together and written back unchanged.
 * Without offload the kernel cut each into ~45 packets of 1500 bytes before the TUN (and the host received
 * them so): a bulk TCP stream through the gate got 0.02-0.04x of the plain veth path. A held GSO packet
 * counts as one packet of its full size (the header not counted) in every answer and against --max-bytes.
 *
 * Control: one command per line on stdin, one answer per line on stdout (remusd keeps both ends).
 *   barrier N   epoch N ends here (remusd says it just before the dump of checkpoint N). Packets already
 *               queued on the TUN were sent before it and go to N; every packet read after the answer
 *               belongs to a later epoch.            -> ok barrier N <packets> <bytes>
 *   release N   write out every held packet up to barrier N, oldest first
 *                                                   -> ok release N <packets> <bytes> <dropped> <hist>
 *               hist: how long each released packet was held, as idx:count pairs (log-linear µs buckets,
 *               16 per power of two: see src/gate/histogram.ts), or "-" when none.
 *   stats                                           -> ok stats <held packets> <held bytes> <dropped> <pending barriers>
 *   hold        (with --inbound-tap) hold every packet INBOUND to the workload from now on: remusd's lossless
 *               network lock for the length of one CRIU dump   -> ok hold
 *   unhold      send the inbound packets held since `hold` on, in order, and pass later ones straight through
 *                                                   -> ok unhold <packets> <bytes>
 *   anything wrong                                  -> err <reason>
 *
 * Inbound (--inbound-tap TAP --inbound-to VETH): remusd redirects what the host sends into the workload's
 * namespace (tc egress on the host-side veth, u32 + mirred) into the TAP device TAP, and this helper sends
 * each frame on to VETH through a packet socket that bypasses the qdisc layer, hence the redirect (it would
 * loop otherwise). Outside a hold that costs a read and a send per inbound packet; during a hold the helper
 * stops reading the TAP and the kernel queues the frames there (INBOUND_QUEUE of them, then it drops). CRIU
 * runs with `--network-lock skip` meanwhile: see the README's output-commit section for why that is safe.
 *
 * Memory is bounded by --max-bytes, the read stage included (below): past it, new packets are DROPPED
 * (counted, never released early); TCP retransmits them after a later release. The helper dies with remusd: PR_SET_PDEATHSIG, and EOF on stdin.
 * Its TUN device is not persistent, so the kernel deletes it (and every packet queued on it) when the helper
 * dies; the tc redirect then points at nothing and the workload's output goes nowhere, never straight out.
 *
 * Usage: remusd-gate --tun NAME --parent PID [--max-bytes N] [--no-offload] [--inbound-tap TAP --inbound-to VETH]
 * Once its devices exist it says "ready NAME offload OFFLOADS" (what TUNSETOFFLOAD took, "none", or "off"
 * with --no-offload).
 */
#define _GNU_SOURCE
#include "tun-batch.h"
#include "tun-devices.h"
#include "tun-options.h"
#include "tun-store.h"
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_BARRIERS 4096
/* Packets read per wake-up before control gets a look: a flood cannot delay a barrier for long. */
#define READ_BATCH 256
/* The TUN device's queue (txqueuelen; the kernel's default is 500). While the helper writes out a release it
 * does not read, and a queue of 500 overflowed within one 20 ms release of a 1500-byte UDP flood here: the
 * kernel drops what does not fit. The queue holds pointers only; the packets' memory is the senders'. */
#define TUN_QUEUE 8192
/* Inbound frames the TAP's queue holds during a dump (pointers; the frames are the senders' memory). At 1 s
 * of dump that is ~16 k requests per second held without loss; past it the kernel drops, as CRIU's own
 * lock would have dropped everything. */
#define INBOUND_QUEUE 16384
/* How long the TUN rests after a read: 1 ms is ~70 packets at 100 MB/s, far below TUN_QUEUE. */
#define READ_REST_US 1000
/* While a release is written out, the TUN is read again after every this many packets. */
#define WRITE_BATCH 256

struct barrier { uint64_t epoch; uint64_t end; /* packet index: packets < end belong to epochs <= epoch */ };

static uint64_t next_index, released_index; /* packet counters: read so far, released so far */
static uint64_t dropped, dropped_reported;
static struct barrier barriers[MAX_BARRIERS];
static size_t nbarriers;
static uint64_t epoch_start_index, epoch_bytes, last_barrier;
static int tun_fd;
/* Inbound: the TAP the host's packets for the workload are redirected into, and the packet socket they go on
 * through; holding: a dump is running, so the TAP is not read. */
static int tap_fd = -1, onward_fd = -1, holding;

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void answer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void answer(const char *fmt, ...) {
  static char line[16384];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  for (int off = 0; off < n;) {
    ssize_t w = write(1, line + off, (size_t)(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(1); /* remusd is gone */
    off += (int)w;
  }
}

/* Where a batch of reads lands before each packet is copied into the store: a read cannot know a packet's
 * length beforehand, so every slot takes the largest (READ_SLOT). With GSO packets every slot's pages get
 * touched: 256 slots were 16 MiB resident beyond --max-bytes. So the stage is carved out of the bound: a
 * quarter of it at most (255 slots of the default 64 MiB, 15 of 4 MiB), at least one slot; the store gets
 * the rest. A small bound reads fewer packets per system call, never more memory. */
#define READ_SLOT (MAX_PACKET + VNET_HDR)
static unsigned char *stage;
static unsigned stage_slots;
/* How many reads the next batch asks for: twice what the last one found, so that a trickle costs few reads
 * of an empty queue and a flood few calls. */
static unsigned read_want = 16;

/* Reads what the TUN has queued (at most `limit` packets) into the store, in batches. */
static void read_packets(int limit) {
  static struct batch_op ops[BATCH_MAX];
  while (limit > 0) {
    unsigned n = read_want < (unsigned)limit ? read_want : (unsigned)limit, got = 0;
    if (n > stage_slots) n = stage_slots;
    for (unsigned i = 0; i < n; i++) ops[i] = (struct batch_op){ stage + (size_t)i * READ_SLOT, READ_SLOT, 0 };
    batch_read(tun_fd, ops, n);
    uint64_t arrival = now_us();
    for (unsigned i = 0; i < n; i++) {
      ssize_t r = ops[i].result;
      if (r == -EAGAIN || r == -EINTR || r == 0) continue;
      /* The kernel took the packet off the queue but could not hand it over (EINVAL: a GSO type the
       * virtio_net_hdr cannot describe; EFAULT: larger than a slot). Freed: a loss, which TCP recovers. */
      if (r == -EINVAL || r == -EFAULT || (r > 0 && r <= VNET_HDR)) { got++; dropped++; continue; }
      if (r < 0) {
        dprintf(2, "remusd-gate: read from the TUN device failed: %s\n", strerror((int)-r));
        _exit(1);
      }
      got++;
      if (store_put(ops[i].data, (size_t)r, arrival) != 0) { dropped++; continue; }
      next_index++;
      epoch_bytes += (uint64_t)r - VNET_HDR;
    }
    read_want = got * 2 < 16 ? 16 : got * 2 > BATCH_MAX ? BATCH_MAX : got * 2;
    if (got < n) return; /* the queue was empty */
    limit -= (int)got;
  }
}

/* Writes out held packets up to index `end`, oldest first, a batch per system call. */
static void release_to(uint64_t end, uint64_t *packets, uint64_t *bytes, uint32_t *hist) {
  static struct batch_op ops[BATCH_MAX];
  uint64_t now = now_us();
  while (released_index < end) {
    unsigned n = 0;
    struct record *r;
    /* Taken records stay valid until the next store_put, which only read_packets below makes. */
    while (n < WRITE_BATCH && released_index < end && (r = store_take()) != NULL) {
      ops[n++] = (struct batch_op){ (unsigned char *)r + sizeof *r, r->len, 0 };
      *packets += 1;
      *bytes += r->len - VNET_HDR;
      hist_count(hist, now - r->arrival_us);
      released_index++;
    }
    if (n == 0) return;
    /* A write the kernel refuses (the stack dropped it) is like a loss on the wire: TCP recovers. */
    batch_write(tun_fd, ops, n);
    /* Keep the TUN's queue from overflowing during a long release: what arrives now is a later epoch's. */
    read_packets(WRITE_BATCH);
  }
}

static void command(char *line) {
  uint64_t n;
  if (sscanf(line, "barrier %" SCNu64, &n) == 1) {
    if (n <= last_barrier) { answer("err barrier %" PRIu64 ": barriers must increase (last %" PRIu64 ")", n, last_barrier); return; }
    /* Everything queued now was sent before this command, hence before the dump: it belongs to epoch n. The
     * queue holds at most TUN_QUEUE packets, so reading that many takes all of them; reading on until the
     * queue is empty never ended under a flood (each read made room for another packet). Packets read here
     * were all sent before the dump starts (remusd starts CRIU after our answer), so epoch n may have them. */
    read_packets(TUN_QUEUE);
    if (nbarriers == MAX_BARRIERS) {
      /* Merge the two oldest: their packets wait for the later release, which is always safe. */
      memmove(barriers, barriers + 1, (MAX_BARRIERS - 1) * sizeof barriers[0]);
      nbarriers--;
    }
    barriers[nbarriers++] = (struct barrier){ n, next_index };
    answer("ok barrier %" PRIu64 " %" PRIu64 " %" PRIu64, n, next_index - epoch_start_index, epoch_bytes);
    last_barrier = n;
    epoch_start_index = next_index;
    epoch_bytes = 0;
    return;
  }
  if (sscanf(line, "release %" SCNu64, &n) == 1) {
    if (n > last_barrier) { answer("err release %" PRIu64 ": no barrier %" PRIu64 " yet (last %" PRIu64 ")", n, n, last_barrier); return; }
    uint64_t end = released_index;
    size_t k = 0;
    while (k < nbarriers && barriers[k].epoch <= n) end = barriers[k++].end;
    memmove(barriers, barriers + k, (nbarriers - k) * sizeof barriers[0]);
    nbarriers -= k;
    static uint32_t hist[HIST_BUCKETS];
    memset(hist, 0, sizeof hist);
    uint64_t packets = 0, bytes = 0;
    release_to(end, &packets, &bytes, hist);
    static char text[12000];
    hist_format(hist, text, sizeof text);
    answer("ok release %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %s", n, packets, bytes, dropped - dropped_reported, text);
    dropped_reported = dropped;
    return;
  }
  if (strcmp(line, "hold") == 0 || strcmp(line, "unhold") == 0) {
    if (tap_fd < 0) { answer("err no inbound hold (start with --inbound-tap)"); return; }
    uint64_t packets = 0, bytes = 0;
    /* Frames queued before a hold arrived before the dump: they go on now (CRIU has not started yet). */
    forward_frames(tap_fd, onward_fd, INBOUND_QUEUE, &packets, &bytes);
    holding = line[0] == 'h';
    if (holding) answer("ok hold");
    else answer("ok unhold %" PRIu64 " %" PRIu64, packets, bytes);
    return;
  }
  if (strcmp(line, "stats") == 0) {
    answer("ok stats %" PRIu64 " %" PRIu64 " %" PRIu64 " %zu", next_index - released_index, store_bytes(), dropped, nbarriers);
    return;
  }
  answer("err unknown command");
}

int main(int argc, char **argv) {
  struct gate_options options = parse_options(argc, argv);
  const char *name = options.tun, *inbound_tap = options.inbound_tap, *inbound_to = options.inbound_to;
  long parent = options.parent;
  unsigned long long max_bytes = options.max_bytes;
  /* Die with remusd: held packets must never outlive the process that decides when they are safe. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != (pid_t)parent) {
    dprintf(2, "remusd-gate: parent %ld is gone already\n", parent);
    return 1;
  }
  /* A terminal's ^C or a service manager's SIGTERM is for remusd, which ends us by closing stdin. */
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  uint64_t slots = max_bytes / 4 / READ_SLOT;
  stage_slots = slots < 1 ? 1 : slots > BATCH_MAX ? BATCH_MAX : (unsigned)slots;
  if (store_init(max_bytes - (uint64_t)stage_slots * READ_SLOT, VNET_HDR, READ_SLOT) != 0) {
    dprintf(2, "remusd-gate: --max-bytes %llu cannot hold two packets of %d bytes and read one\n", max_bytes, READ_SLOT);
    return 2;
  }
  stage = mmap(NULL, (size_t)stage_slots * READ_SLOT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (stage == MAP_FAILED) { dprintf(2, "remusd-gate: no memory for reads: %s\n", strerror(errno)); return 1; }
  batch_open(); /* io_uring, or one system call per packet where the kernel refuses it */

  /* Always IFF_VNET_HDR, so every record has the same layout; --no-offload only leaves the offloads off. */
  if ((tun_fd = open_tun(name, IFF_TUN | IFF_VNET_HDR, TUN_QUEUE)) < 0) return 1;
  const char *offload = options.offload ? set_offload(tun_fd) : "off";
  if (inbound_tap != NULL && ((tap_fd = open_tun(inbound_tap, IFF_TAP, INBOUND_QUEUE)) < 0 || (onward_fd = open_onward(inbound_to)) < 0)) return 1;
  answer("ready %s offload %s", name, offload);

  static char input[4096];
  size_t have = 0;
  struct pollfd fds[3] = { { .fd = 0, .events = POLLIN }, { .fd = tun_fd, .events = POLLIN }, { .fd = tap_fd, .events = POLLIN } };
  uint64_t rest_until = 0;
  for (;;) {
    /* Held packets need not be read promptly (a barrier reads the queue itself), only before the TUN's
     * queue fills: after a read the TUN rests for READ_REST_US, so a flood is read in batches instead of
     * waking us (a context switch) for every packet or two. */
    uint64_t now = now_us();
    int resting = now < rest_until;
    /* fds[1] (the TUN) is left out while it rests; fds[2] (the TAP) while it holds, and the kernel queues. */
    fds[1].fd = resting ? -1 : tun_fd;
    fds[2].fd = holding ? -1 : tap_fd;
    fds[1].revents = fds[2].revents = 0;
    if (poll(fds, 3, resting ? (int)((rest_until - now + 999) / 1000) : -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[0].revents != 0) {
      ssize_t n = read(0, input + have, sizeof input - 1 - have);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        return 0; /* remusd closed the channel or died: held packets die with us */
      }
      have += (size_t)n;
      char *start = input, *nl;
      while ((nl = memchr(start, '\n', (size_t)(input + have - start))) != NULL) {
        *nl = '\0';
        command(start);
        start = nl + 1;
      }
      have = (size_t)(input + have - start);
      memmove(input, start, have);
      if (have == sizeof input - 1) { answer("err command line too long"); have = 0; }
    }
    if (fds[1].revents & POLLIN) {
      read_packets(READ_BATCH);
      rest_until = now_us() + READ_REST_US;
    } else if (fds[1].revents & (POLLERR | POLLHUP)) return 1;
    if (fds[2].revents & POLLIN) {
      uint64_t packets = 0, bytes = 0; /* inbound outside a hold: straight on, uncounted */
      forward_frames(tap_fd, onward_fd, READ_BATCH, &packets, &bytes);
    } else if (fds[2].revents & (POLLERR | POLLHUP)) return 1;
  }
}
