import { readFile, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { leaderKey } from '../../config/fencing.js';
import { readFenceReport } from '../../fence/marker.js';
import { previousFailover } from '../../replicate/failover-report.js';
import { listRunDirectories } from '../../replicate/backup-runs.js';
import { loadConfigOrDefaults } from '../config-source.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { printJson } from '../json.js';
import { z } from 'zod';
import { errorMessage } from '../../fs/error-code.js';

// The fields of a ship.jsonl line that status shows: the newest acknowledged checkpoint and when.
const shipAck = z.object({ name: z.string(), acked_at: z.string() });
/** `remusd status`: who holds the fencing lease, since when, and the newest acknowledged checkpoint per side. */
export const statusCommand = defineCommand({
  command: 'status',
  describe: 'Show who holds the fencing lease (etcd), since when, and the newest acknowledged checkpoint on each side',
  builder: (yargs: Argv) =>
    yargs
      .option('config', { type: 'string', demandOption: true, describe: 'A config with a fencing section' })
      .option('images', {
        type: 'string',
        describe:
          "The primary's images directory: its latest checkpoint, the backup's last ack (ship.jsonl), fenced.json",
      })
      .option('backup', {
        type: 'string',
        describe: "The backup's directory: its latest checkpoint, failover.json, fenced.json",
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' }),
  handler: async (args) => {
    const config = await loadConfigOrDefaults(args.config);
    if (config.fencing.kind === 'none')
      throw new UserError(
        `${args.config}: no fencing section (fencing.kind etcd): there is no lease to show`,
        EXIT.usage,
      );
    const { leaderStatus, describeLeader } = await import('../../fence/holder.js');
    const key = leaderKey(config.fencing);
    let lease: Record<string, unknown>;
    // Output a degraded primary released without the backup's ack (src/fence/released.ts): no failover restores older.
    let degradedLine: string | undefined;
    try {
      const { leader, ttlLeftSeconds, released } = await leaderStatus(config.fencing);
      lease = leader.held
        ? {
            key,
            held: true,
            lease_id: leader.leaseId,
            ttl_left_s: ttlLeftSeconds,
            ...('invalid' in leader.value ? { invalid: leader.value.invalid } : leader.value),
            text: describeLeader(leader),
          }
        : { key, held: false, text: 'nobody' };
      if (released.present) {
        lease.released_unacknowledged = 'invalid' in released ? { invalid: released.invalid } : released.value;
        const what =
          'invalid' in released
            ? `unreadable record (${released.invalid})`
            : `${released.value.holder} released the output of checkpoint ${released.value.checkpoint} of run ${released.value.run} without the backup's ack`;
        degradedLine = `DEGRADED: ${what}; no failover restores an older checkpoint`;
      }
    } catch (error) {
      lease = {
        key,
        error: `cannot reach etcd at ${config.fencing.endpoints.join(', ')}: ${errorMessage(error).split('\n')[0]}`,
      };
    }
    const primary = args.images === undefined ? undefined : await side(resolve(args.images), 'primary');
    const backup = args.backup === undefined ? undefined : await side(resolve(args.backup), 'backup');
    if (args.json) {
      printJson({ lease, ...(primary === undefined ? {} : { primary }), ...(backup === undefined ? {} : { backup }) });
      return;
    }
    const lines = [
      lease.error !== undefined
        ? `lease ${key}: ${String(lease.error)}`
        : `lease ${key}: held by ${String(lease.text)}${lease.held === true ? `; ${String(lease.ttl_left_s)} s left in etcd` : ''}`,
    ];
    if (degradedLine !== undefined) lines.push(degradedLine);
    for (const [name, s] of [
      ['primary', primary],
      ['backup', backup],
    ] as const) {
      if (s === undefined) continue;
      lines.push(
        `${name} ${s.dir}: latest ${s.latest ?? 'none'}${s.acked === undefined ? '' : `; backup acknowledged ${s.acked.name} at ${s.acked.at}`}${s.fenced === undefined ? '' : `; FENCED at ${s.fenced.at}: ${s.fenced.reason}`}${s.failover === undefined ? '' : `; failed over: ${s.failover}`}`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  },
});

// One side's directory: its latest checkpoint, the last ack (primary: ship.jsonl), a fence or a failover.
async function side(dir: string, role: 'primary' | 'backup') {
  // A backup keeps each primary run apart (runs/ID/latest): show the newest run's.
  const runs = role === 'backup' ? listRunDirectories(dir) : [];
  const latestDirs = runs.length > 0 ? runs.map((r) => r.dir) : [dir];
  const latests = (await Promise.all(latestDirs.map((d) => readlink(join(d, 'latest')).catch(() => undefined)))).filter(
    (l): l is string => l !== undefined,
  );
  const latest = latests.sort().at(-1);
  const fence = await readFenceReport(dir);
  let acked: { name: string; at: string } | undefined;
  let failover: string | undefined;
  if (role === 'primary') {
    const text = await readFile(join(dir, 'ship.jsonl'), 'utf8').catch(() => '');
    const last = text.trim().split('\n').at(-1);
    if (last) {
      try {
        const record = shipAck.safeParse(JSON.parse(last));
        if (record.success) acked = { name: record.data.name, at: record.data.acked_at };
      } catch {
        // a torn last line: none
      }
    }
  } else {
    const previous = await previousFailover(dir);
    if (previous.state === 'unreadable') failover = `unknown: ${previous.problem}`;
    else if (previous.state === 'recorded')
      failover = previous.report.ok
        ? `${previous.report.checkpoint} restored as pid ${previous.report.pid} at ${previous.report.restored_at}`
        : 'failed (see failover.json)';
  }
  return {
    dir,
    latest,
    ...(acked === undefined ? {} : { acked }),
    ...(fence === undefined ? {} : { fenced: { at: fence.at, reason: fence.reason, action: fence.action } }),
    ...(failover === undefined ? {} : { failover }),
  };
}
