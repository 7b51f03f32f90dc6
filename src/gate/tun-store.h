/* The gate's held packets, oldest first, in a bounded store (src/gate/tun-store.c). */
#ifndef REMUSD_TUN_STORE_H
#define REMUSD_TUN_STORE_H
#include <stddef.h>
#include <stdint.h>

/* len: the bytes that follow, `header` (see store_init) and then the packet. */
struct record { uint32_t len; uint32_t pad; uint64_t arrival_us; /* the bytes follow */ };

/* Bounds the store's memory to `max_bytes` (records, packets and chunk headers together); every record
 * starts with `header` bytes that are not the packet's (they are held, not counted in store_bytes). -1 when
 * the bound cannot hold a record of `largest` bytes (header included). */
int store_init(uint64_t max_bytes, size_t header, size_t largest);

/* Copies a record of len bytes (header and packet) in as the newest; -1 when the bound is reached (the
 * caller counts a drop). */
int store_put(const void *data, size_t len, uint64_t arrival_us);

/* Takes the oldest packet out (NULL when none is held). Its bytes stay valid until the next store_put. */
struct record *store_take(void);

/* Packet bytes held now (headers not counted). */
uint64_t store_bytes(void);

/* How long released packets were held: log-linear µs buckets, 16 per power of two (src/gate/histogram.ts
 * reads them). hist_count adds one packet held `us`; hist_format writes "idx:count,..." or "-" when empty. */
#define HIST_BUCKETS 544
void hist_count(uint32_t *hist, uint64_t us);
void hist_format(const uint32_t *hist, char *text, size_t size);

#endif
