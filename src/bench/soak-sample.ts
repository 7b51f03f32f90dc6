// What the endurance bench (soak.ts) samples every few seconds, from the outside: /proc for each daemon's
// resident memory, descriptors and children, its Prometheus endpoint for the V8 heap and the event loop's
// live handles (timers, sockets, servers), and the disk for the stores, temporary files and records.
import { readdir, readFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';

/** One daemon seen from outside. Undefined fields: the process or its endpoint did not answer. */
export interface DaemonSample {
  rssBytes: number | undefined;
  fds: number | undefined;
  /** Direct children, live ones and zombies. */
  children: number;
  zombies: number;
  heapUsedBytes: number | undefined;
  /** nodejs_active_handles_total: timers, sockets, servers, child processes the event loop holds. */
  handles: number | undefined;
}

/** A directory tree seen from outside. */
export interface TreeSample {
  bytes: number;
  files: number;
  /** Checkpoint directories (eight digits) anywhere in the tree. */
  checkpoints: number;
  /** Files or directories named like a write in progress: `.NAME.PID.RANDOM.tmp`, `.NNNNNNNN.compact`, `*.partial`. */
  leftovers: number;
}

// Resident set size from /proc/PID/status (kB there), or undefined when the process is gone.
async function rssBytes(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kb = status === undefined ? undefined : /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

async function openFds(pid: number): Promise<number | undefined> {
  return (await readdir(`/proc/${pid}/fd`).catch(() => undefined))?.length;
}

// Direct children of pid and how many of them are zombies, by a walk of /proc.
async function children(pid: number): Promise<{ children: number; zombies: number }> {
  let count = 0;
  let zombies = 0;
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) !== pid) continue;
    count += 1;
    if (fields[0] === 'Z') zombies += 1;
  }
  return { children: count, zombies };
}

/** The value of an unlabelled metric in Prometheus' text format, or undefined when absent. */
export function metricValue(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

async function scrape(endpoint: string | undefined): Promise<string> {
  if (endpoint === undefined) return '';
  try {
    const response = await fetch(`http://${endpoint}/metrics`, { signal: AbortSignal.timeout(5000) });
    return response.ok ? await response.text() : '';
  } catch {
    return '';
  }
}

/** Samples one daemon: pid from /proc, endpoint (HOST:PORT) for its metrics. */
export async function sampleDaemon(pid: number, endpoint: string | undefined): Promise<DaemonSample> {
  const [rss, fds, kids, metrics] = await Promise.all([rssBytes(pid), openFds(pid), children(pid), scrape(endpoint)]);
  return {
    rssBytes: rss,
    fds,
    ...kids,
    heapUsedBytes: metricValue(metrics, 'nodejs_heap_size_used_bytes'),
    handles: metricValue(metrics, 'nodejs_active_handles_total'),
  };
}

const LEFTOVER = /^\..+\.tmp$|^\.\d{8}\.compact$|\.partial$/;

/** Walks dir (symlinks not followed) and sums what it holds; a missing dir is empty. */
export async function sampleTree(dir: string): Promise<TreeSample> {
  const total: TreeSample = { bytes: 0, files: 0, checkpoints: 0, leftovers: 0 };
  const walk = async (path: string): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const child = join(path, entry.name);
      if (LEFTOVER.test(entry.name)) total.leftovers += 1;
      if (entry.isDirectory()) {
        if (/^\d{8}$/.test(entry.name)) total.checkpoints += 1;
        await walk(child);
      } else if (entry.isFile()) {
        total.files += 1;
        total.bytes += (await lstat(child).catch(() => undefined))?.size ?? 0;
      }
    }
  };
  await walk(dir);
  return total;
}

/** Bytes of a file and its rotated copies (FILE, FILE.1, FILE.2, …). */
export async function rotatedBytes(file: string): Promise<number> {
  let bytes = 0;
  for (let i = 0; i <= 100; i++) {
    const stat = await lstat(i === 0 ? file : `${file}.${i}`).catch(() => undefined);
    if (stat === undefined && i > 0) break;
    bytes += stat?.size ?? 0;
  }
  return bytes;
}
