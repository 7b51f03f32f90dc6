// Reads what criu-leftovers.ts judges: a process's threads, its parasite mappings and the bytes CRIU pokes
// into its text, from /proc. I/O only.

import { open, readdir, readFile } from 'node:fs/promises';
import { isParasiteMapping, type ProcessSnapshot, type ThreadSnapshot } from './criu-leftovers.js';

// CRIU pokes its syscall blob (8 bytes on x86-64) and then the memfd's name ("CRIUMFD\0") at the start of the
// first executable mapping: 16 bytes cover both.
const POKED_BYTES = 16;

/** The process's threads, parasite mappings and poked text, or `gone` when it has no entry in /proc. */
export async function snapshotProcess(pid: number): Promise<ProcessSnapshot> {
  let tids: string[];
  let maps: string;
  try {
    tids = await readdir(`/proc/${pid}/task`);
    maps = await readFile(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return { gone: true, pid };
  }
  const threads = (await Promise.all(tids.map((tid) => snapshotThread(pid, Number(tid))))).filter(
    (thread) => thread !== undefined,
  );
  if (threads.length === 0) return { gone: true, pid };
  const lines = maps.split('\n').filter((line) => line !== '');
  const parasiteMappings = lines.filter(isParasiteMapping);
  const firstExecutable = lines.find((line) => line.split(/\s+/)[1]?.[2] === 'x');
  return {
    gone: false,
    pid,
    threads,
    parasiteMappings,
    pokedText: await pokedText(pid, firstExecutable),
    injectionSpot: firstExecutable === undefined ? undefined : rangeOf(firstExecutable)[0],
    parasiteRanges: parasiteMappings.map(rangeOf),
  };
}

async function snapshotThread(pid: number, tid: number): Promise<ThreadSnapshot | undefined> {
  const base = `/proc/${pid}/task/${tid}`;
  try {
    const [stat, status, wchan, syscall] = await Promise.all([
      readFile(`${base}/stat`, 'utf8'),
      readFile(`${base}/status`, 'utf8'),
      readFile(`${base}/wchan`, 'utf8').catch(() => '?'),
      readFile(`${base}/syscall`, 'utf8').catch(() => 'running'),
    ]);
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    const tracer = /^TracerPid:\s*(\d+)/m.exec(status)?.[1];
    return { tid, state, tracerPid: Number(tracer ?? 0), wchan, ...syscallAndPc(syscall) };
  } catch {
    return undefined; // the thread exited meanwhile
  }
}

// /proc/TID/syscall: "running", or "NR SP PC" outside a syscall (NR -1), or NR, six arguments, SP and PC.
function syscallAndPc(line: string): { syscall: number | undefined; pc: number | undefined } {
  const fields = line.trim().split(' ');
  if (fields.length < 3) return { syscall: undefined, pc: undefined };
  return { syscall: Number(fields[0]), pc: Number(fields.at(-1)) };
}

// [start, end) of a /proc/PID/maps line.
function rangeOf(line: string): [number, number] {
  const [start = '', end = ''] = (line.split(' ')[0] ?? '').split('-');
  return [Number.parseInt(start, 16), Number.parseInt(end, 16)];
}

/**
 * Where the start of the first executable mapping differs from its file: the spot CRIU pokes its injected
 * syscall into (find_executable_area in compel). Undefined when it is the same, anonymous, or unreadable.
 */
async function pokedText(pid: number, first: string | undefined): Promise<string | undefined> {
  if (first === undefined) return undefined;
  const [range, , offsetHex, , , ...rest] = first.split(/\s+/);
  const path = rest.join(' ');
  if (range === undefined || offsetHex === undefined || !path.startsWith('/') || path.endsWith('(deleted)'))
    return undefined;
  const [start] = rangeOf(first);
  const inMemory = await readAt(`/proc/${pid}/mem`, start);
  const onDisk = await readAt(path, Number.parseInt(offsetHex, 16));
  if (inMemory === undefined || onDisk === undefined || inMemory.equals(onDisk)) return undefined;
  return `${POKED_BYTES} bytes at 0x${start.toString(16)} (${path}) read ${inMemory.toString('hex')}, the file has ${onDisk.toString('hex')}`;
}

async function readAt(path: string, position: number): Promise<Buffer | undefined> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const buffer = Buffer.alloc(POKED_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, POKED_BYTES, position);
    return bytesRead === POKED_BYTES ? buffer : undefined;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}
