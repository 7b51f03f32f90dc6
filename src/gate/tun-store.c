/*
 * The gate's held packets live in a queue of chunks, oldest first; a chunk emptied by store_take goes to a
 * free list and is reused warm (most recently freed first). A single 64 MiB ring walked through all of its
 * memory before wrapping: zeroing fresh pages was 22% of the helper's time in a flood, and its RSS grew to
 * the whole bound however little was ever held at once. Now RSS follows the most ever held, rounded up to
 * chunks: 1 MiB each (a small bound is split in two, each still holding a maximal packet). The chunks'
 * mappings together, their list headers included, stay within the bound.
 */
#include "tun-store.h"
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

struct chunk { struct chunk *next; size_t fill, read; unsigned char data[]; };
static struct chunk *oldest, *newest, *spare;
static size_t chunk_size, chunks, max_chunks;
static uint64_t held_bytes;
/* Bytes at the front of every record that are not the packet's (the virtio_net_hdr): held, not counted. */
static size_t record_header;

/* A new chunk's pages, all mapped at once: touched one by one, each page cost a fault (11% of the helper's
 * time while the store grew under a 1500-byte flood, perf); MAP_POPULATE maps them in one call. */
static struct chunk *fresh_chunk(void) {
  void *p = mmap(NULL, sizeof(struct chunk) + chunk_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static size_t aligned(size_t n) { return (n + 7) & ~(size_t)7; }

int store_init(uint64_t max_bytes, size_t header, size_t largest) {
  size_t mapping = (max_bytes >= (4u << 20) ? (size_t)1 << 20 : (size_t)max_bytes / 2) & ~(size_t)4095;
  if (mapping <= sizeof(struct chunk)) return -1;
  chunk_size = mapping - sizeof(struct chunk);
  max_chunks = (size_t)(max_bytes / mapping);
  record_header = header;
  return chunk_size >= aligned(sizeof(struct record) + largest) ? 0 : -1;
}

/* Space for `need` contiguous bytes at the end of the newest chunk; NULL when the bound is reached. */
static unsigned char *reserve(size_t need) {
  if (need > chunk_size) return NULL;
  if (newest != NULL && chunk_size - newest->fill >= need) return newest->data + newest->fill;
  struct chunk *c = spare;
  if (c != NULL) spare = c->next;
  else if (chunks < max_chunks && (c = fresh_chunk()) != NULL) chunks++;
  else return NULL;
  c->next = NULL;
  c->fill = c->read = 0;
  if (newest != NULL) newest->next = c;
  else oldest = c;
  newest = c;
  return c->data;
}

int store_put(const void *data, size_t len, uint64_t arrival_us) {
  if (len < record_header) return -1;
  size_t need = aligned(sizeof(struct record) + len);
  unsigned char *slot = reserve(need);
  if (slot == NULL) return -1;
  struct record *r = (struct record *)slot;
  r->len = (uint32_t)len;
  r->arrival_us = arrival_us;
  memcpy(slot + sizeof *r, data, len);
  newest->fill += need;
  held_bytes += len - record_header;
  return 0;
}

struct record *store_take(void) {
  while (oldest != NULL && oldest->read == oldest->fill) {
    if (oldest == newest) { oldest->fill = oldest->read = 0; return NULL; }
    struct chunk *done = oldest;
    oldest = done->next;
    done->next = spare;
    spare = done;
  }
  if (oldest == NULL) return NULL;
  struct record *r = (struct record *)(oldest->data + oldest->read);
  oldest->read += aligned(sizeof *r + r->len);
  held_bytes -= r->len - record_header;
  return r;
}

uint64_t store_bytes(void) { return held_bytes; }

void hist_count(uint32_t *hist, uint64_t us) {
  unsigned idx = (unsigned)us;
  if (us >= 16) {
    unsigned e = 63u - (unsigned)__builtin_clzll(us);
    idx = 16u + (e - 4u) * 16u + (unsigned)((us >> (e - 4u)) - 16u);
  }
  hist[idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1]++;
}

void hist_format(const uint32_t *hist, char *text, size_t size) {
  size_t off = 0;
  for (unsigned i = 0; i < HIST_BUCKETS && off + 32 < size; i++) {
    if (hist[i] != 0) off += (size_t)snprintf(text + off, size - off, "%s%u:%u", off == 0 ? "" : ",", i, hist[i]);
  }
  if (off == 0) snprintf(text, size, "-");
}
