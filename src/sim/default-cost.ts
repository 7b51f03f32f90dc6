// The default cost profile: config/cost-profile.json, the file `remusd calibrate` wrote from real runs on this
// project's machine, as its `measured` block says (where, when, which CRIU, which records). It is written by
// calibrate, never by hand (a test fits the same records again and must get the same models):
//   bash scripts/calibration-runs.sh test/sim/fixtures/criu-4.2.1
//   remusd calibrate test/sim/fixtures/criu-4.2.1/{full-{1,16,64,256},delta-{16,64,256}}mib.records.jsonl \
//     --where … --criu-version 4.2.1 --note … --out config/cost-profile.json
// It is parsed by the same code as a `--cost FILE` (cost-profile.ts), so it is checked like one. Measured with
// CRIU 4.2.1 (dumping at SCHED_FIFO) on the machine otherwise idle: a 64 MiB dump is charged ~44 ms frozen in
// mode delta (15.1 ms + 1.77 µs per page CRIU wrote; that run's median 44.5 ms) and ~47 ms in mode full (12.5 ms
// + 2.11 µs/page; median 54 ms); CRIU's wall ~131 ms; the delta rewrite ≈ 32 ms + 1.25 µs per page hashed +
// 3.8 µs per page written. No soft-dirty kernel was at hand, so modes dump and pre-dump
// have no default: calibrate them.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import type { CostModel, CostProfile } from './cost.js';
import { modelForMode, parseCostProfile } from './cost-profile.js';

/** Where the default profile is (in the package, beside the example configs). */
export const DEFAULT_COST_PROFILE_FILE = join(packageRoot(), 'config', 'cost-profile.json');

/** The cost profile measured on this project's machine (see the file's `measured` block). */
export const DEFAULT_COST_PROFILE: CostProfile = parseCostProfile(
  readFileSync(DEFAULT_COST_PROFILE_FILE, 'utf8'),
  `the default cost profile (${DEFAULT_COST_PROFILE_FILE})`,
);

/** Mode delta's model from the default profile: what `simulate` and `compare` charge unless told otherwise. */
export const DEFAULT_COST: CostModel = modelForMode(DEFAULT_COST_PROFILE, 'delta', 'the default cost profile');
