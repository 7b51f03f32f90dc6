/* The gate helper's devices (src/gate/tun-devices.c). */
#ifndef REMUSD_TUN_DEVICES_H
#define REMUSD_TUN_DEVICES_H
#include <stdint.h>

/* Opens a TUN (IFF_TUN) or TAP (IFF_TAP) device NAME, non-blocking, with a queue of `queue` packets; -1
 * (said on stderr) when it cannot. */
int open_tun(const char *name, short kind, int queue);

/* A packet socket that transmits whole Ethernet frames on DEVICE, past its qdisc and tc egress hook. */
int open_onward(const char *device);

/* Sends on what the TAP tap_fd has queued (at most `limit` frames) through onward_fd, in order; adds the
 * frames and bytes sent to *packets and *bytes. */
void forward_frames(int tap_fd, int onward_fd, int limit, uint64_t *packets, uint64_t *bytes);

#endif
