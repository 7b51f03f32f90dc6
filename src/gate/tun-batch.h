/* Batched reads and writes of whole packets on one file descriptor (src/gate/tun-batch.c). */
#ifndef REMUSD_TUN_BATCH_H
#define REMUSD_TUN_BATCH_H
#include <stddef.h>
#include <sys/types.h>

/* The most operations one batch may carry. */
#define BATCH_MAX 256

/* One operation: a packet's buffer and its length (for a read, the buffer's size); after the batch, the
 * bytes moved or -errno. */
struct batch_op { void *data; size_t len; ssize_t result; };

/* Sets up io_uring for batches; when the kernel refuses it (too old, io_uring_disabled, a seccomp filter),
 * batches fall back to one read() or write() per packet. Returns a line for the log saying which. */
const char *batch_open(void);

/* Reads into ops[0..n) (n <= BATCH_MAX), in order, from a non-blocking fd: results are packet lengths, or
 * -EAGAIN once the queue was empty. Packets land in the order of ops. */
void batch_read(int fd, struct batch_op *ops, unsigned n);

/* Writes ops[0..n) (n <= BATCH_MAX) to fd in order, one packet each. */
void batch_write(int fd, struct batch_op *ops, unsigned n);

#endif
