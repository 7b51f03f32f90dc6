// The cost profile file is untrusted input: each defence here fails without it (a FIFO hangs a plain read,
// /dev/zero or a huge file fills memory, a typo in a key silently changes nothing).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  costProfileJson,
  CostProfileError,
  loadCostProfile,
  modelForMode,
  parseCostProfile,
  PROFILE_MAX_BYTES,
} from '../../src/sim/cost-profile.js';
import { DEFAULT_COST_PROFILE } from '../../src/sim/default-cost.js';
import { scratchDirSync } from '../helpers/scratch.js';

const dir = scratchDirSync('remusd-cost-profile-');
const good = () => JSON.parse(JSON.stringify(costProfileJson(DEFAULT_COST_PROFILE))) as Record<string, any>;
const write = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

describe('cost profile files', () => {
  it('round-trip: the file calibrate writes loads back to the same models', async () => {
    const path = write('good.json', JSON.stringify(costProfileJson(DEFAULT_COST_PROFILE)));
    const loaded = await loadCostProfile(path);
    expect(costProfileJson(loaded)).toEqual(costProfileJson(DEFAULT_COST_PROFILE));
    expect(modelForMode(loaded, 'delta', path).frozen.baseMs).toBe(DEFAULT_COST_PROFILE.modes.delta!.frozen.baseMs);
  });

  it('names the field, the value and what was expected', () => {
    const p = good();
    p.modes.delta.frozen.base_ms = 'fast';
    expect(() => parseCostProfile(JSON.stringify(p), 'x.json')).toThrow(
      'x.json: modes.delta.frozen.base_ms "fast" is not a finite number',
    );
    const q = good();
    q.modes.delta.frozen.base_ms_typo = 1;
    expect(() => parseCostProfile(JSON.stringify(q), 'x.json')).toThrow(
      /x\.json: modes\.delta\.frozen has unknown key\(s\) base_ms_typo/,
    );
    const r = good();
    r.remusd_cost_profile = 2;
    expect(() => parseCostProfile(JSON.stringify(r), 'x.json')).toThrow(/remusd_cost_profile 2 is not 1/);
    const s = good();
    s.modes = {};
    expect(() => parseCostProfile(JSON.stringify(s), 'x.json')).toThrow(/modes .* holds no mode/);
    expect(() => parseCostProfile('{"remusd_cost_profile": 1,', 'x.json')).toThrow(/x\.json: not JSON/);
    expect(() => parseCostProfile('[]', 'x.json')).toThrow(CostProfileError);
  });

  it('a mode the profile lacks is an error naming the modes it has', () => {
    expect(() => modelForMode(DEFAULT_COST_PROFILE, 'pre-dump', 'p.json')).toThrow(
      'p.json has no cost model for mode pre-dump (it has full, delta); calibrate on records of that mode',
    );
  });

  it('refuses a FIFO at once, a directory, a file over the size cap and a missing file', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(loadCostProfile(fifo)).rejects.toThrow(`cost profile ${fifo}: is a FIFO, not a regular file`);
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    await expect(loadCostProfile(sub)).rejects.toThrow(/is a directory/);
    const big = write('big.json', ' '.repeat(PROFILE_MAX_BYTES + 1));
    await expect(loadCostProfile(big)).rejects.toThrow(`is larger than the ${PROFILE_MAX_BYTES} byte limit`);
    await expect(loadCostProfile(join(dir, 'none.json'))).rejects.toThrow(/no such file \(ENOENT\)/);
  });
});
