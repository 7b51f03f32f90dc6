/*
 * Batched packet I/O for the gate helper: many reads (or writes) of a TUN device per system call.
 *
 * Why: a system call costs ~2.8 µs on this host (getppid in a loop: page-table isolation on a paravirtual
 * VM), and the gate used to make two per packet (a read when it arrives, a write when its epoch is
 * released): ~5.6 µs of a measured 13-19 µs of helper CPU per 1500-byte packet, while the plain veth path
 * makes none per packet (the sender's sendmmsg carries 64). io_uring takes a whole batch of reads or
 * writes in one io_uring_enter. Raw system calls, no liburing: only the submission and completion rings.
 *
 * Order: every operation here is issued inline, in submission order, by the io_uring_enter that submits
 * it. RWF_NOWAIT makes io_uring complete a read of an empty queue (or a write the device cannot take now)
 * with -EAGAIN; without it, io_uring parks the request until the device is ready (it did so here although
 * the fd is O_NONBLOCK), and parked requests could complete out of order. So packets are read, and
 * written out, in the order of the ops, as with one read() or write() after another. A kernel whose TUN
 * refuses RWF_NOWAIT (EOPNOTSUPP) gets the system calls instead.
 */
#define _GNU_SOURCE
#include "tun-batch.h"
#include <errno.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static struct {
  int fd;
  unsigned *sq_tail, *sq_mask, *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
} ring = { .fd = -1 };

static void *map(size_t size, int fd, off_t offset) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset);
  return p == MAP_FAILED ? NULL : p;
}

const char *batch_open(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = (int)syscall(__NR_io_uring_setup, BATCH_MAX, &p);
  if (fd < 0) return "io_uring unavailable: one system call per packet";
  size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single && cq_size > sq_size) sq_size = cq_size;
  unsigned char *sq = map(sq_size, fd, IORING_OFF_SQ_RING);
  unsigned char *cq = single ? sq : map(cq_size, fd, IORING_OFF_CQ_RING);
  ring.sqes = map(p.sq_entries * sizeof(struct io_uring_sqe), fd, IORING_OFF_SQES);
  if (sq == NULL || cq == NULL || ring.sqes == NULL || p.sq_entries < BATCH_MAX) {
    close(fd);
    return "io_uring rings could not be mapped: one system call per packet";
  }
  ring.sq_tail = (unsigned *)(sq + p.sq_off.tail);
  ring.sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  ring.cq_head = (unsigned *)(cq + p.cq_off.head);
  ring.cq_tail = (unsigned *)(cq + p.cq_off.tail);
  ring.cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  ring.cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  /* The submission array maps ring slots to SQEs: the identity, set once. */
  unsigned *array = (unsigned *)(sq + p.sq_off.array);
  for (unsigned i = 0; i < p.sq_entries; i++) array[i] = i;
  ring.fd = fd;
  return "io_uring: one system call per batch of packets";
}

/* Submits ops[0..n) as `opcode` on fd and waits for all of them (they complete inline, see above). */
static void run(int opcode, int fd, struct batch_op *ops, unsigned n) {
  unsigned tail = *ring.sq_tail, mask = *ring.sq_mask;
  for (unsigned i = 0; i < n; i++) {
    struct io_uring_sqe *sqe = &ring.sqes[(tail + i) & mask];
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = (uint8_t)opcode;
    sqe->fd = fd;
    sqe->off = (uint64_t)-1; /* the file's own position: a TUN device has none */
    sqe->addr = (uint64_t)(uintptr_t)ops[i].data;
    sqe->len = (uint32_t)ops[i].len;
    sqe->rw_flags = RWF_NOWAIT; /* never parked for later: see Order above */
    sqe->user_data = i;
  }
  __atomic_store_n(ring.sq_tail, tail + n, __ATOMIC_RELEASE);
  unsigned submitted = 0, done = 0;
  while (done < n) {
    long r = syscall(__NR_io_uring_enter, ring.fd, n - submitted, n - done, IORING_ENTER_GETEVENTS, NULL, 0);
    if (r < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY) {
      /* Dying is safe (held packets die with us, remusd sees the gate gone); guessing which packets went
       * out is not. */
      dprintf(2, "remusd-gate: io_uring_enter failed: %s\n", strerror(errno));
      _exit(1);
    }
    if (r > 0) submitted += (unsigned)r;
    unsigned head = *ring.cq_head, end = __atomic_load_n(ring.cq_tail, __ATOMIC_ACQUIRE);
    for (; head != end; head++, done++) {
      struct io_uring_cqe *cqe = &ring.cqes[head & *ring.cq_mask];
      ops[cqe->user_data].result = cqe->res;
    }
    __atomic_store_n(ring.cq_head, head, __ATOMIC_RELEASE);
  }
}

/* Without io_uring: one system call per packet, as the gate always did before. */
static void one_by_one(int write_out, int fd, struct batch_op *ops, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    ssize_t r;
    do r = write_out ? write(fd, ops[i].data, ops[i].len) : read(fd, ops[i].data, ops[i].len);
    while (r < 0 && errno == EINTR);
    ops[i].result = r < 0 ? -errno : r;
    if (!write_out && r < 0 && errno == EAGAIN) { /* an empty queue: the rest of the batch is not read */
      for (unsigned j = i + 1; j < n; j++) ops[j].result = -EAGAIN;
      return;
    }
  }
}

/* Runs a batch through io_uring, or one by one where the device refuses RWF_NOWAIT (then it refuses every
 * op of the batch and none moved a packet: the batch is done again, and so are all later ones). */
static void batch(int write_out, int fd, struct batch_op *ops, unsigned n) {
  if (ring.fd >= 0) {
    run(write_out ? IORING_OP_WRITE : IORING_OP_READ, fd, ops, n);
    if (ops[0].result != -EOPNOTSUPP) return;
    close(ring.fd);
    ring.fd = -1;
  }
  one_by_one(write_out, fd, ops, n);
}

void batch_read(int fd, struct batch_op *ops, unsigned n) { batch(0, fd, ops, n); }

void batch_write(int fd, struct batch_op *ops, unsigned n) { batch(1, fd, ops, n); }
