// fenced.json: written beside the checkpoints when the lease is lost and the workload stopped (guard.ts).
// Its own small file so that readers (remusd ship, status) need not load the etcd client.

import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FenceAction } from '../config/fencing.js';

export const FENCED_FILE = 'fenced.json';

/** fenced.json: what the fence did and why. */
export interface FenceReport {
  reason: string;
  /** When the fence was decided; the workload was stopped stop_ms later. */
  at: string;
  key: string;
  holder: string;
  lease: string;
  action: FenceAction;
  /** The workload's root pid (undefined: fenced before there was one). */
  pid?: number;
  /** Every pid signalled. */
  pids: number[];
  /** From the decision to the last signal sent. */
  stop_ms: number;
  /** Who fenced: remusd itself (lease lost), or its watchdog (remusd died or stopped renewing). */
  by?: 'remusd' | 'watchdog';
}

/** The fence report in dir, if any (a file that does not parse counts as none). */
export async function readFenceReport(dir: string): Promise<FenceReport | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, FENCED_FILE), 'utf8')) as FenceReport;
  } catch {
    return undefined;
  }
}

/** Removes an earlier run's fenced.json: this process holds the lease again. */
export async function clearFenceReport(dir: string): Promise<void> {
  await rm(join(dir, FENCED_FILE), { force: true });
}
