/* The gate helper's command line (src/gate/tun-options.c). */
#ifndef REMUSD_TUN_OPTIONS_H
#define REMUSD_TUN_OPTIONS_H

/* The largest packet a TUN read returns; --max-bytes must hold two of them. */
#define MAX_PACKET 65536

struct gate_options {
  const char *tun, *inbound_tap, *inbound_to; /* inbound_*: NULL without the inbound hold */
  long parent;
  unsigned long long max_bytes;
};

/* Parses and checks argv; on a usage error says why on stderr and exits 2 (remusd reports it). */
struct gate_options parse_options(int argc, char **argv);

#endif
