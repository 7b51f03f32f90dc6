/* The gate helper's command line: every value checked before anything is opened, since a bad one is remusd's
 * bug and must stop the helper at once with the reason, never run with a half-understood configuration. */
#include "tun-options.h"
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage_error(const char *what) {
  dprintf(2, "remusd-gate: %s\nusage: remusd-gate --tun NAME --parent PID [--max-bytes N] [--no-offload] [--inbound-tap TAP --inbound-to VETH]\n", what);
  exit(2);
}

struct gate_options parse_options(int argc, char **argv) {
  struct gate_options o = { .tun = NULL, .inbound_tap = NULL, .inbound_to = NULL, .parent = -1, .max_bytes = 64ull << 20, .offload = 1 };
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--no-offload") == 0) { o.offload = 0; continue; }
    if (i + 1 >= argc) usage_error("an option lacks its value");
    if (strcmp(argv[i], "--tun") == 0) o.tun = argv[++i];
    else if (strcmp(argv[i], "--parent") == 0) o.parent = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--max-bytes") == 0) o.max_bytes = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--inbound-tap") == 0) o.inbound_tap = argv[++i];
    else if (strcmp(argv[i], "--inbound-to") == 0) o.inbound_to = argv[++i];
    else usage_error("unknown option");
  }
  if ((o.inbound_tap == NULL) != (o.inbound_to == NULL)) usage_error("--inbound-tap and --inbound-to go together");
  if (o.inbound_tap != NULL && (strlen(o.inbound_tap) >= IFNAMSIZ || strlen(o.inbound_to) >= IFNAMSIZ)) usage_error("interface names have at most 15 characters");
  if (o.tun == NULL || strlen(o.tun) >= IFNAMSIZ) usage_error("--tun NAME (at most 15 characters) is required");
  if (o.parent <= 0) usage_error("--parent PID is required");
  if (o.max_bytes < MIN_MAX_BYTES || o.max_bytes > (1ull << 40)) usage_error("--max-bytes must be between 256 KiB and 1 TiB");
  return o;
}
