// Records (real or simulated) as the rows a plot needs, with file:line errors for bad lines.

/** One checkpoint on the plot. */
export interface PlotPoint {
  seq: number;
  /** Seconds since the first record's start. */
  t: number;
  intervalMs: number;
  nextIntervalMs: number;
  sizeMiB: number;
  decision: string;
  /** The first checkpoint of a chain: a full dump, not a dirty set. */
  chainStart: boolean;
}

/** A bad records file for plotting: the message names the file and line. */
export class PlotInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlotInputError';
  }
}

/** Parses records.jsonl text (named `source` in errors) into plot rows; throws PlotInputError. */
export function plotPoints(text: string, source: string): PlotPoint[] {
  const points: PlotPoint[] = [];
  let origin: number | undefined;
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${source}:${index + 1}`;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch (error) {
      throw new PlotInputError(`${where}: not a JSON record (${(error as Error).message})`);
    }
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new PlotInputError(`${where}: expected a JSON object (one remusd record)`);
    const startMs = typeof r.start === 'string' ? Date.parse(r.start) : Number.NaN;
    if (!Number.isFinite(startMs)) throw new PlotInputError(`${where}: start ${JSON.stringify(r.start)} is not an ISO-8601 time`);
    for (const key of ['seq', 'interval_ms', 'next_interval_ms', 'size_bytes'] as const) {
      if (typeof r[key] !== 'number' || !Number.isFinite(r[key])) throw new PlotInputError(`${where}: ${key} ${r[key] === undefined ? '(missing)' : JSON.stringify(r[key])} is not a number`);
    }
    origin ??= startMs;
    const reason = typeof r.reason === 'string' ? r.reason : '';
    points.push({
      seq: r.seq as number,
      t: (startMs - origin) / 1000,
      intervalMs: r.interval_ms as number,
      nextIntervalMs: r.next_interval_ms as number,
      sizeMiB: (r.size_bytes as number) / 2 ** 20,
      decision: typeof r.decision === 'string' ? r.decision : 'unknown',
      chainStart: reason.includes('chain start'),
    });
  });
  if (points.length === 0) throw new PlotInputError(`${source}: no records to plot`);
  return points;
}
