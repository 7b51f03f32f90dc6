import { readFile } from 'node:fs/promises';

/** One `progress` line of the bundled workload's output. */
export interface Progress {
  ticks: number;
  writes: number;
  /** CLOCK_MONOTONIC at the report, in ms (the line's t_ns / 1e6). */
  tMs: number;
  /** Wall clock at the report, ms since the epoch (the line's rt_ns / 1e6). */
  realMs: number;
  /** Digest of every page's generation. */
  sum: string;
  phase: number;
}

export interface WorkloadOutput {
  progress: Progress[];
  corrupt: string[];
  starts: { pid: number; pages: number; pageSize: number }[];
}

/** Parses the bundled workload's output (see dirtier.c for the line formats). */
export function parseWorkloadOutput(text: string): WorkloadOutput {
  const output: WorkloadOutput = { progress: [], corrupt: [], starts: [] };
  for (const line of text.split('\n')) {
    const fields = Object.fromEntries(
      line
        .split(' ')
        .slice(1)
        .map((pair) => {
          const [key = '', value] = pair.split('=');
          return [key, value];
        }),
    );
    if (line.startsWith('progress ')) {
      output.progress.push({
        ticks: Number(fields.ticks),
        writes: Number(fields.writes),
        tMs: Number(fields.t_ns) / 1e6,
        realMs: Number(fields.rt_ns) / 1e6,
        sum: String(fields.sum),
        phase: Number(fields.phase),
      });
    } else if (line.startsWith('CORRUPT')) {
      output.corrupt.push(line);
    } else if (line.startsWith('start ')) {
      output.starts.push({ pid: Number(fields.pid), pages: Number(fields.pages), pageSize: Number(fields.page_size) });
    }
  }
  return output;
}

/** Reads and parses a workload output file. */
export async function readWorkloadOutput(path: string): Promise<WorkloadOutput> {
  return parseWorkloadOutput(await readFile(path, 'utf8'));
}
