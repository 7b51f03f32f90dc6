// The cost profile file that `remusd calibrate` writes and `simulate`/`compare --cost FILE` read: JSON with
// snake_case keys, checked field by field on load (strict: an unknown key is an error). The file is
// untrusted input: a regular file only, at most PROFILE_MAX_BYTES, and every error names the file, the
// field, the value and what was expected.

import { z } from 'zod';
import { FileReadError, readRegularFile } from '../fs/regular-file.js';
import type { CheckpointMode } from '../model/record.js';
import type { CostModel, CostProfile, FittedCost } from './cost.js';
import { firstIssue } from '../units/zod-issue.js';
import { errorMessage } from '../fs/error-code.js';

/** The format's version, the value of the file's `remusd_cost_profile` key. */
export const PROFILE_VERSION = 1;
/** A profile is a few hundred bytes per mode; anything much larger is not one. */
export const PROFILE_MAX_BYTES = 64 * 1024;

/** A cost profile file that cannot be used; the message names the file and the field. */
export class CostProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CostProfileError';
  }
}

const finite = z.number({ error: 'is not a finite number' }).finite({ error: 'is not a finite number' });
const whole = z
  .number({ error: 'is not a whole number ≥ 0' })
  .int({ error: 'is not a whole number ≥ 0' })
  .min(0, { error: 'is not a whole number ≥ 0' });
const fitSchema = z.strictObject({
  samples: whole,
  r2: finite.nullable(),
  residual_p50_ms: finite,
  residual_p90_ms: finite,
  outliers: whole,
  predictors: z.array(z.enum(['scanned', 'written'], { error: 'is not scanned or written' })).max(2),
});
const costSchema = z.strictObject({
  base_ms: finite,
  per_scanned_page_us: finite,
  per_written_page_us: finite,
  fit: fitSchema.optional(),
});
/** The modes a profile may hold, in the order of its `modes` object. */
const PROFILE_MODES = ['full', 'delta', 'dump', 'pre-dump'] as const satisfies readonly CheckpointMode[];
const modeSchema = z.strictObject({ frozen: costSchema, criu_wall: costSchema, rewrite: costSchema });
const text = z.string({ error: 'is not a string' }).max(4096, { error: 'is longer than 4096 characters' });
const profileSchema = z.strictObject({
  remusd_cost_profile: z.literal(PROFILE_VERSION, {
    error: `is not ${PROFILE_VERSION} (the cost profile format this remusd reads)`,
  }),
  measured: z.strictObject({
    host: text,
    kernel: text,
    criu: text,
    at: text,
    records: z.array(text).max(1000),
    note: text,
  }),
  modes: z
    .strictObject({
      full: modeSchema.optional(),
      delta: modeSchema.optional(),
      dump: modeSchema.optional(),
      'pre-dump': modeSchema.optional(),
    })
    .refine((modes) => Object.keys(modes).length > 0, {
      error: 'holds no mode (expected at least one of full, delta, dump, pre-dump)',
    }),
});

type CostJson = z.infer<typeof costSchema>;
/** A profile as its file holds it. */
export type CostProfileJson = z.infer<typeof profileSchema>;

/** Parses a profile's JSON text (named `source` in errors); throws CostProfileError. */
export function parseCostProfile(json: string, source: string): CostProfile {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new CostProfileError(`${source}: not JSON (${errorMessage(error)})`);
  }
  const parsed = profileSchema.safeParse(value);
  if (!parsed.success) {
    const { key, found, message, unknownKeys } = firstIssue(parsed.error, value);
    const what =
      unknownKeys !== undefined
        ? `has unknown key(s) ${unknownKeys.join(', ')}`
        : `${found === undefined ? '(missing)' : JSON.stringify(found).slice(0, 80)} ${message}`;
    throw new CostProfileError(`${source}: ${key === '' ? 'the profile' : key} ${what}`);
  }
  const p = parsed.data;
  const modes: CostProfile['modes'] = {};
  // In the schema's order, which is the order Object.entries gave (zod builds its output in shape order).
  for (const mode of PROFILE_MODES) {
    const m = p.modes[mode];
    if (m !== undefined)
      modes[mode] = { mode, frozen: costOf(m.frozen), criuWall: costOf(m.criu_wall), rewrite: costOf(m.rewrite) };
  }
  return { measured: { ...p.measured, records: [...p.measured.records] }, modes };
}

/** Reads a profile file; throws CostProfileError (unreadable, not a regular file, too large, invalid). */
export async function loadCostProfile(path: string): Promise<CostProfile> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, PROFILE_MAX_BYTES);
  } catch (error) {
    if (error instanceof FileReadError) throw new CostProfileError(`cost profile ${error.message}`);
    throw error;
  }
  return parseCostProfile(bytes.toString('utf8'), path);
}

/** The profile as its file holds it. */
export function costProfileJson(profile: CostProfile): CostProfileJson {
  const modes: CostProfileJson['modes'] = {};
  for (const m of Object.values(profile.modes)) {
    modes[m.mode] = { frozen: jsonOf(m.frozen), criu_wall: jsonOf(m.criuWall), rewrite: jsonOf(m.rewrite) };
  }
  return { remusd_cost_profile: PROFILE_VERSION, measured: profile.measured, modes };
}

/** The cost model of one mode, or an error naming the modes the profile has. */
export function modelForMode(profile: CostProfile, mode: CheckpointMode, source: string): CostModel {
  const model = profile.modes[mode];
  if (model === undefined) {
    throw new CostProfileError(
      `${source} has no cost model for mode ${mode} (it has ${Object.keys(profile.modes).join(', ')}); calibrate on records of that mode`,
    );
  }
  return model;
}

function costOf(c: CostJson): FittedCost {
  const fit = c.fit;
  return {
    baseMs: c.base_ms,
    perScannedPageUs: c.per_scanned_page_us,
    perWrittenPageUs: c.per_written_page_us,
    fit:
      fit === undefined
        ? undefined
        : {
            samples: fit.samples,
            r2: fit.r2,
            residualP50Ms: fit.residual_p50_ms,
            residualP90Ms: fit.residual_p90_ms,
            outliers: fit.outliers,
            predictors: [...fit.predictors],
          },
  };
}

function jsonOf(c: FittedCost): CostJson {
  const out: CostJson = {
    base_ms: round(c.baseMs),
    per_scanned_page_us: round(c.perScannedPageUs),
    per_written_page_us: round(c.perWrittenPageUs),
  };
  if (c.fit !== undefined) {
    const f = c.fit;
    out.fit = {
      samples: f.samples,
      r2: f.r2 === null ? null : round(f.r2),
      residual_p50_ms: round(f.residualP50Ms),
      residual_p90_ms: round(f.residualP90Ms),
      outliers: f.outliers,
      predictors: f.predictors,
    };
  }
  return out;
}

// Four significant decimals are far below what these measurements can tell apart.
function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
