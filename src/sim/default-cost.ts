// The default cost profile: `remusd calibrate` run on real runs measured on this project's machine, as its
// `measured` block says (where, when, which CRIU, which records). Regenerate it with
//   remusd calibrate test/sim/fixtures/demo-delta-15s.records.jsonl test/sim/fixtures/full-*.records.jsonl \
//     --where … --criu-version … --note … --out profile.json
// and paste the file below. It is parsed by the same code as a `--cost FILE` (cost-profile.ts), so it is
// checked like one. Modes full and delta share their CRIU fits (the same `criu dump --leave-running`); the
// fixtures' full dumps of 1–256 MiB give the per-page slope: frozen ≈ 2.5 ms + 1.60 µs/page (29 ms for a
// 64 MiB workload), CRIU wall ≈ 41 ms + 1.61 µs/page; the delta rewrite ≈ 24 ms + 3.3 µs per page written.
// No soft-dirty kernel was at hand, so modes dump and pre-dump have no default: calibrate them.

import type { CostModel, CostProfile } from './cost.js';
import { modelForMode, parseCostProfile } from './cost-profile.js';

const MEASURED_HERE = `
{
  "remusd_cost_profile": 1,
  "measured": {
    "host": "this project's machine: a Firecracker VM, 2 vCPUs, 24 GiB, images on ext4 (virtio disk)",
    "kernel": "6.18.44-fc-v1045",
    "criu": "4.1.1",
    "at": "2026-11-22T00:25:40.294Z to 2026-11-22T00:26:45.196Z",
    "records": [
      "test/sim/fixtures/demo-delta-15s.records.jsonl",
      "test/sim/fixtures/full-1mib.records.jsonl",
      "test/sim/fixtures/full-16mib.records.jsonl",
      "test/sim/fixtures/full-64mib.records.jsonl",
      "test/sim/fixtures/full-256mib.records.jsonl"
    ],
    "note": "remusd run on the bundled dirtier: mode full, policy fixed 1 s, 8 checkpoints each at 1, 16, 64 and 256 MiB; mode delta, the demo (64 MiB, 15 s). Machine quiet then (frozen 26-38 ms for 64 MiB); at load 12-17 the same dumps froze 5-10x longer. Records: test/sim/fixtures."
  },
  "modes": {
    "delta": {
      "frozen": {
        "base_ms": 2.4578,
        "per_scanned_page_us": 0,
        "per_written_page_us": 1.6044,
        "fit": {
          "samples": 87,
          "r2": 0.3219,
          "residual_p50_ms": 2.1221,
          "residual_p90_ms": 3.9518,
          "outliers": 3,
          "predictors": [
            "written"
          ]
        }
      },
      "criu_wall": {
        "base_ms": 40.8599,
        "per_scanned_page_us": 0,
        "per_written_page_us": 1.6073,
        "fit": {
          "samples": 87,
          "r2": 0.3219,
          "residual_p50_ms": 3.9618,
          "residual_p90_ms": 9.4623,
          "outliers": 2,
          "predictors": [
            "written"
          ]
        }
      },
      "rewrite": {
        "base_ms": 23.6117,
        "per_scanned_page_us": 0,
        "per_written_page_us": 3.3335,
        "fit": {
          "samples": 55,
          "r2": 0.2079,
          "residual_p50_ms": 2.52,
          "residual_p90_ms": 4.7448,
          "outliers": 1,
          "predictors": [
            "written"
          ]
        }
      }
    },
    "full": {
      "frozen": {
        "base_ms": 2.4578,
        "per_scanned_page_us": 0,
        "per_written_page_us": 1.6044,
        "fit": {
          "samples": 87,
          "r2": 0.3219,
          "residual_p50_ms": 2.1221,
          "residual_p90_ms": 3.9518,
          "outliers": 3,
          "predictors": [
            "written"
          ]
        }
      },
      "criu_wall": {
        "base_ms": 40.8599,
        "per_scanned_page_us": 0,
        "per_written_page_us": 1.6073,
        "fit": {
          "samples": 87,
          "r2": 0.3219,
          "residual_p50_ms": 3.9618,
          "residual_p90_ms": 9.4623,
          "outliers": 2,
          "predictors": [
            "written"
          ]
        }
      },
      "rewrite": {
        "base_ms": 0,
        "per_scanned_page_us": 0,
        "per_written_page_us": 0
      }
    }
  }
}
`;

/** The cost profile measured on this project's machine (see MEASURED_HERE's `measured` block). */
export const DEFAULT_COST_PROFILE: CostProfile = parseCostProfile(MEASURED_HERE, 'the default cost profile (src/sim/default-cost.ts)');

/** Mode delta's model from the default profile: what `simulate` and `compare` charge unless told otherwise. */
export const DEFAULT_COST: CostModel = modelForMode(DEFAULT_COST_PROFILE, 'delta', 'the default cost profile');
