/* The gate helper's command line (src/gate/tun-options.c). */
#ifndef REMUSD_TUN_OPTIONS_H
#define REMUSD_TUN_OPTIONS_H

/* The largest packet a TUN read returns: a GSO packet is below the TUN's gso_max_size (64 KiB; the kernel
 * segments a larger one before it reaches the device), a plain one at most the veth's MTU (< 64 KiB). */
#define MAX_PACKET 65536
/* Every read and write of the gate's TUN starts with a struct virtio_net_hdr (IFF_VNET_HDR): what GSO and
 * checksum offload the packet carries (src/gate/tun-devices.c). */
#define VNET_HDR 10
/* The smallest --max-bytes: two maximal packets held and one being read (src/gate/tun-gate.c), rounded up. */
#define MIN_MAX_BYTES (256ull << 10)

struct gate_options {
  const char *tun, *inbound_tap, *inbound_to; /* inbound_*: NULL without the inbound hold */
  long parent;
  unsigned long long max_bytes;
  int offload; /* 0 with --no-offload: the kernel segments GSO packets before the TUN, as before */
};

/* Parses and checks argv; on a usage error says why on stderr and exits 2 (remusd reports it). */
struct gate_options parse_options(int argc, char **argv);

#endif
