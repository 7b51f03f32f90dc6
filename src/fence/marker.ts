// fenced.json: written beside the checkpoints when the lease is lost and the workload stopped (guard.ts).
// Its own small file so that readers (remusd ship, status) need not load the etcd client.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { FENCE_ACTIONS } from '../config/fencing.js';
import { readRegularFile } from '../fs/regular-file.js';

export const FENCED_FILE = 'fenced.json';

/** A fence report is a few hundred bytes plus one pid per process of the workload; past this it is not one. */
export const FENCE_REPORT_MAX_BYTES = 1 << 20;

/** fenced.json: what the fence did and why (written by guard.ts, or by the watchdog in C). */
export const fenceReportSchema = z.object({
  reason: z.string(),
  /** When the fence was decided; the workload was stopped stop_ms later. */
  at: z.string(),
  key: z.string(),
  holder: z.string(),
  lease: z.string(),
  action: z.enum(FENCE_ACTIONS),
  /** The workload's root pid (undefined: fenced before there was one). */
  pid: z.number().int().optional(),
  /** Every pid signalled. */
  pids: z.array(z.number().int()),
  /** From the decision to the last signal sent. */
  stop_ms: z.number(),
  /** Who fenced: remusd itself (lease lost), or its watchdog (remusd died or stopped renewing). */
  by: z.enum(['remusd', 'watchdog']).optional(),
});
export type FenceReport = z.infer<typeof fenceReportSchema>;

/** The fence report in dir, if any (a file that does not parse, or not as a fence report, counts as none). */
export async function readFenceReport(dir: string): Promise<FenceReport | undefined> {
  try {
    const parsed = fenceReportSchema.safeParse(
      JSON.parse((await readRegularFile(join(dir, FENCED_FILE), FENCE_REPORT_MAX_BYTES)).toString('utf8')),
    );
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Removes an earlier run's fenced.json: this process holds the lease again. */
export async function clearFenceReport(dir: string): Promise<void> {
  await rm(join(dir, FENCED_FILE), { force: true });
}
