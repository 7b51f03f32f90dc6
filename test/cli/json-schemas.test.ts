// Every --json output, from the real commands, against its documented schema (src/cli/json-schemas.ts), and
// snake_case throughout: outputs mixed `lmin_bytes` with `inBandShare` before. (demo and failover are
// checked where they run anyway: test/cli/demo.test.ts, test/replicate/end-to-end.test.ts.)
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { JSON_OUTPUTS } from '../../src/cli/json-schemas.js';
import { snakeCase } from '../../src/cli/json.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload | undefined;
afterAll(() => workload?.stop());

/** Every object key in a JSON value that is not snake_case (CRIU's mode names such as pre-dump are data). */
function camelKeys(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => camelKeys(item, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => [
    ...(snakeCase(key) === key ? [] : [`${path}.${key}`]),
    ...camelKeys(inner, `${path}.${key}`),
  ]);
}

async function jsonOf<S extends z.ZodType>(schema: S, args: string[], exitCode = 0): Promise<z.output<S>> {
  const result = await runCli(args);
  expect(result.exitCode, result.stderr).toBe(exitCode);
  const json: unknown = JSON.parse(result.stdout);
  expect(camelKeys(json)).toEqual([]);
  const parsed = schema.safeParse(json);
  expect(parsed.error?.issues ?? [], `${args.join(' ')}: ${result.stdout.slice(0, 400)}`).toEqual([]);
  return parsed.data as z.output<S>;
}

describe('--json outputs match their schemas, in snake_case', () => {
  it('check', async () => {
    const report = await jsonOf(JSON_OUTPUTS.check, ['check', '--json']);
    expect(report.page_size).toBe(4096);
  });

  it('config check, valid and invalid (exit 2)', async () => {
    const ok = await jsonOf(JSON_OUTPUTS['config check'], ['config', 'check', 'config/production.yaml', '--json']);
    expect(ok.ok).toBe(true);
    const dir = await imagesDir('remusd-json-');
    await writeFile(join(dir, 'bad.yaml'), 'thresholds: { lmin: 9MiB, lmax: 2MiB }\ninterval: { maxx: 1s }\n');
    const bad = await jsonOf(JSON_OUTPUTS['config check'], ['config', 'check', join(dir, 'bad.yaml'), '--json'], 2);
    expect(bad.ok).toBe(false);
  });

  it('simulate and compare', async () => {
    const sim = await jsonOf(JSON_OUTPUTS.simulate, ['simulate', '--duration', '10s', '--json']);
    expect(sim.summary?.checkpoints).toBeGreaterThan(0);
    const compare = await jsonOf(JSON_OUTPUTS.compare, [
      'compare',
      '--workload',
      '2000:5',
      '--duration',
      '10s',
      '--seeds',
      '2',
      '--json',
    ]);
    expect(compare.policies).toHaveLength(3);
  });

  it("stats on a delta checkpoint: CRIU's count and, beside it, the far smaller stored pages (real CRIU)", async () => {
    workload = await startWorkload(['--mib', '32', '--phases', '500:1000000']);
    const dir = await imagesDir('remusd-json-stats-');
    await writeFile(
      join(dir, 'remusd.yaml'),
      'interval: { initial: 300ms, min: 300ms, max: 300ms }\ncheckpoint: { mode: delta, dir: ./images }\n',
    );
    const run = await runCli([
      'run',
      '--config',
      join(dir, 'remusd.yaml'),
      '--pid',
      String(workload.pid),
      '--max-checkpoints',
      '2',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    const stats = await jsonOf(JSON_OUTPUTS.stats, ['stats', join(dir, 'images', '00000002'), '--json']);
    expect(stats.stored?.parent).toBe('../00000001');
    // CRIU dumped all 32 MiB; the rewrite kept the pages dirtied in ~0.3 s at 500 pages/s.
    expect(stats.checkpoint_size_bytes).toBeGreaterThan(32 * 2 ** 20);
    expect(stats.stored!.pages_bytes).toBeLessThan(stats.checkpoint_size_bytes! / 4);
    const human = await runCli(['stats', join(dir, 'images', '00000002')]);
    expect(human.stdout).toMatch(/pages-\*\.img\s+\d+\.\d\d MiB/);
  });
});
