import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import type { CheckpointMode } from '../model/record.js';
import { queryCriu } from './exec.js';
import { describeLocation, type CriuLocation } from './locate.js';

/** What this machine's CRIU and kernel can do, as `remusd check` reports it. */
export interface Capabilities {
  criu: { command: string; source: string; version: string | undefined; checkOk: boolean; checkOutput: string };
  kernel: string;
  pageSize: number;
  dirtyTracking: { available: boolean; detail: string };
  /** Each checkpoint mode: whether it is usable here, and why or why not (bestMode picks among them). */
  modes: Record<CheckpointMode, { available: boolean; why: string }>;
  plugQdisc: { available: boolean; detail: string };
}

/** Parses `criu --version` output ("Version: 4.1.1"). */
export function parseCriuVersion(output: string): string | undefined {
  return /^Version:\s*(\S+)/m.exec(output)?.[1];
}

/** True when a dotted version is at least major.minor. */
export function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = Number.NaN, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/** The kernel's page size in bytes. */
export async function pageSize(): Promise<number> {
  const { stdout } = await execa('getconf', ['PAGESIZE']);
  return Number(stdout.trim());
}

/** Asks CRIU and the kernel what checkpoint modes work here. */
export async function probeCapabilities(criu: CriuLocation): Promise<Capabilities> {
  const [versionRun, checkRun, dirtyRun, size] = await Promise.all([
    queryCriu(criu, ['--version']),
    queryCriu(criu, ['check']),
    queryCriu(criu, ['check', '--feature', 'mem_dirty_track']),
    pageSize(),
  ]);
  const version = parseCriuVersion(versionRun.output);
  const checkOk = checkRun.exitCode === 0 && version !== undefined && versionAtLeast(version, 4, 1);
  const dirtyAvailable = checkOk && dirtyRun.exitCode === 0;
  const dirtyDetail = dirtyAvailable
    ? 'criu check --feature mem_dirty_track: supported (soft-dirty bits)'
    : (firstMeaningfulLine(dirtyRun.output) ?? 'criu check --feature mem_dirty_track failed');
  const noCriu = checkOk ? '' : 'CRIU cannot checkpoint here (see criu check)';
  const noDirty = "needs the kernel's soft-dirty bits (CONFIG_MEM_SOFT_DIRTY), not available here";
  return {
    criu: {
      command: criu.command,
      source: describeLocation(criu),
      version,
      checkOk,
      checkOutput: checkRun.output.trim(),
    },
    kernel: release(),
    pageSize: size,
    dirtyTracking: { available: dirtyAvailable, detail: dirtyDetail },
    modes: {
      'pre-dump': dirtyAvailable
        ? { available: true, why: 'criu pre-dump --track-mem' }
        : { available: false, why: noCriu || noDirty },
      dump: dirtyAvailable
        ? { available: true, why: 'criu dump --leave-running --track-mem (incremental, restorable)' }
        : { available: false, why: noCriu || noDirty },
      delta: checkOk
        ? {
            available: true,
            why: 'criu dump --leave-running, rewritten by remusd as an incremental chain (pages compared by hash)',
          }
        : { available: false, why: noCriu },
      full: checkOk
        ? { available: true, why: 'criu dump --leave-running (everything, restorable)' }
        : { available: false, why: noCriu },
    },
    plugQdisc: await probePlugQdisc(),
  };
}

/** Whether the sch_plug qdisc (Remus output commit) is built in or loadable. */
export async function probePlugQdisc(): Promise<{ available: boolean; detail: string }> {
  const kernel = release();
  if (existsSync('/sys/module/sch_plug')) return { available: true, detail: 'sch_plug loaded' };
  const config = await kernelConfig(kernel);
  const setting = config === undefined ? undefined : /^CONFIG_NET_SCH_PLUG=(\w)/m.exec(config)?.[1];
  if (setting === 'y') return { available: true, detail: 'built into the kernel (CONFIG_NET_SCH_PLUG=y)' };
  const dir = join('/lib/modules', kernel, 'kernel', 'net', 'sched');
  const present = existsSync(dir) && readdirSync(dir).some((name) => name.startsWith('sch_plug.ko'));
  if (setting === 'm') {
    return present
      ? { available: true, detail: 'loadable module (CONFIG_NET_SCH_PLUG=m)' }
      : { available: false, detail: `CONFIG_NET_SCH_PLUG=m but no sch_plug module under ${dir}` };
  }
  if (config === undefined) {
    // No config to read (a kernel booted without its /boot/config-*, as in scripts/vm): the module decides.
    return present
      ? { available: true, detail: `loadable module (sch_plug.ko under ${dir}; kernel config not readable)` }
      : {
          available: false,
          detail: 'kernel config not readable (/proc/config.gz, /boot/config-*) and no sch_plug module',
        };
  }
  return { available: false, detail: 'not built (CONFIG_NET_SCH_PLUG is not set)' };
}

async function kernelConfig(kernel: string): Promise<string | undefined> {
  try {
    return gunzipSync(await readFile('/proc/config.gz')).toString('utf8');
  } catch {
    try {
      return await readFile(`/boot/config-${kernel}`, 'utf8');
    } catch {
      return undefined;
    }
  }
}

function firstMeaningfulLine(output: string): string | undefined {
  return output
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line !== '' && !line.includes('rlimit') && !line.includes('kdat cache'));
}

/** The best checkpoint mode available, for `checkpoint.mode: auto`. */
export function bestMode(capabilities: Capabilities): CheckpointMode | undefined {
  const order: CheckpointMode[] = ['dump', 'delta', 'full'];
  return order.find((mode) => capabilities.modes[mode].available);
}
