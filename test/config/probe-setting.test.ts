// probe.enabled auto: on for the adaptive policies in the incremental modes, off elsewhere; true and false as written.
import { describe, expect, it } from 'vitest';
import { autoOffReason, probeInForce, probeSettingText } from '../../src/config/probe-setting.js';
import type { CheckpointMode } from '../../src/model/record.js';
import { POLICY_KINDS } from '../../src/policy/index.js';

const MODES: CheckpointMode[] = ['pre-dump', 'dump', 'delta', 'full'];

describe('probe.enabled', () => {
  it('auto is on exactly for threshold and predictive in pre-dump, dump and delta', () => {
    const on = MODES.flatMap((mode) =>
      POLICY_KINDS.filter((kind) => probeInForce('auto', mode, kind)).map((kind) => `${kind}/${mode}`),
    );
    expect(on.sort()).toEqual(
      ['threshold', 'predictive'].flatMap((kind) => ['pre-dump', 'dump', 'delta'].map((m) => `${kind}/${m}`)).sort(),
    );
  });

  it('true and false are taken as written, in every mode and for every policy', () => {
    for (const mode of MODES) {
      for (const kind of POLICY_KINDS) {
        expect(probeInForce(true, mode, kind)).toBe(true);
        expect(probeInForce(false, mode, kind)).toBe(false);
      }
    }
  });

  it('says how it resolved and why', () => {
    expect(probeSettingText('auto', 'delta', 'predictive')).toBe('on (auto: predictive policy, mode delta)');
    expect(probeSettingText('auto', 'full', 'predictive')).toMatch(/^off \(auto: mode full stores the whole memory/);
    expect(probeSettingText('auto', 'delta', 'fixed')).toBe('off (auto: the fixed policy keeps its interval)');
    expect(probeSettingText(false, 'delta', 'predictive')).toBe('off (probe.enabled: false)');
    expect(autoOffReason('dump', 'threshold')).toBeUndefined();
  });
});
