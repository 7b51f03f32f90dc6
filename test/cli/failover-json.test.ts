// `failover --config … --json` prints the restore's result as it is, network part included: the documented schema
// must hold what a network restore returns (it once lacked `network`, so such output broke its own schema).
import { describe, expect, it } from 'vitest';
import { failoverOutput } from '../../src/cli/json-schemas.js';
import { snakeCaseKeys } from '../../src/cli/json.js';
import type { FailoverResult } from '../../src/replicate/failover.js';

// Typed as the command's real result, so a field added to FailoverResult without the schema fails type-checking here.
const restored: FailoverResult = {
  run: '6f1c2d9e-0000-4000-8000-000000000001',
  runReason: 'the newest run by the primary clock',
  name: '00000007',
  pid: 4242,
  skipped: [{ name: '00000008', reason: 'pages-1.img: xxh64 differs from the manifest' }],
  chainLength: 3,
  verified: 'manifests',
  verifyMs: 12.5,
  wallMs: 410.2,
  network: {
    namespace: 'remusd-web-b',
    address: '10.88.0.2/24',
    host_interface: 'rmd-web-b0',
    origin: 'created',
    route_ms: 44,
  },
};

describe('failover --json schema', () => {
  it('accepts a network restore as the command prints it, and still rejects unknown keys', () => {
    const printed = snakeCaseKeys({ ...restored, criu: '/opt/remusd/criu/bin/criu (the private prefix)' });
    expect(failoverOutput.safeParse(printed).error?.issues ?? []).toEqual([]);
    expect(failoverOutput.safeParse({ ...(printed as object), surprise: 1 }).success).toBe(false);
    const { network: _ignored, ...plain } = printed as Record<string, unknown>;
    expect(failoverOutput.safeParse(plain).success).toBe(true);
  });
});
