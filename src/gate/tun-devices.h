/* The gate helper's devices (src/gate/tun-devices.c). */
#ifndef REMUSD_TUN_DEVICES_H
#define REMUSD_TUN_DEVICES_H
#include <stdint.h>

/* Opens a TUN (IFF_TUN, with IFF_VNET_HDR or not) or TAP (IFF_TAP) device NAME, non-blocking, with a queue
 * of `queue` packets; -1 (said on stderr) when it cannot. */
int open_tun(const char *name, int kind, int queue);

/* Asks the kernel for checksum and segmentation offload on a TUN opened with IFF_VNET_HDR: GSO packets then
 * arrive whole. Returns the offloads it took, e.g. "csum,tso4,tso6,tso_ecn,uso4,uso6", or "none". */
const char *set_offload(int fd);

/* A packet socket that transmits whole Ethernet frames on DEVICE, past its qdisc and tc egress hook. */
int open_onward(const char *device);

/* Sends on what the TAP tap_fd has queued (at most `limit` frames) through onward_fd, in order; adds the
 * frames and bytes sent to *packets and *bytes. */
void forward_frames(int tap_fd, int onward_fd, int limit, uint64_t *packets, uint64_t *bytes);

#endif
