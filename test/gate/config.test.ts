import { describe, expect, it } from 'vitest';
import { configFromText } from '../../src/config/load.js';
import { errorLines } from '../config/helpers.js';

const check = (text: string) => configFromText(text, 'config/demo.yaml', '/etc/remusd');

describe('output_commit config', () => {
  it('normalizes with defaults', () => {
    const result = check('output_commit:\n  enabled: true\n  interface: veth-web\n');
    expect(result.ok && result.config.outputCommit).toEqual({
      enabled: true,
      releaseAfter: 'fsync',
      mechanism: 'auto',
      interface: 'veth-web',
      maxHeldBytes: 64 * 2 ** 20,
      inboundDuringDump: 'auto',
      degradeAfterMs: null,
    });
    const off = check('interval: { initial: 1s }\n');
    expect(off.ok && off.config.outputCommit.enabled).toBe(false);
  });

  it('names each bad key with what is allowed', () => {
    expect(
      errorLines(
        check(
          'output_commit:\n  enabled: true\n  release_after: ack\n  interface: "a/b"\n  max_held: 4KiB\n  plug: yes\n',
        ),
      ),
    ).toEqual([
      'config/demo.yaml:3:18: output_commit.release_after: "ack" is not allowed; use one of fsync, backup-ack',
      'config/demo.yaml:4:14: output_commit.interface: "a/b" is not an interface name; use 1 to 15 letters, digits, or . _ : -',
      'config/demo.yaml:6:3: output_commit.plug: is not a known key; allowed keys under output_commit: enabled, release_after, mechanism, interface, max_held, inbound_during_dump, degrade_after',
    ]);
    expect(errorLines(check('output_commit:\n  enabled: true\n  interface: v0\n  max_held: 64KiB\n'))).toEqual([
      'config/demo.yaml:4:13: output_commit.max_held: 64.0 KiB is below the minimum of 256.0 KiB (two maximal packets held and one being read)',
    ]);
  });

  it('refuses keys that would do nothing, and a gate with no interface', () => {
    expect(errorLines(check('output_commit:\n  release_after: backup-ack\n'))).toEqual([
      'config/demo.yaml:2:18: output_commit.release_after: has no effect while output_commit.enabled is not true; remove it or set enabled: true',
    ]);
    expect(errorLines(check('output_commit:\n  enabled: true\n'))[0]).toMatch(
      /output_commit.interface: is required with output_commit.enabled/,
    );
  });

  it('holds inbound packets during dumps only where remusd picks the network lock, with the TUN gate', () => {
    expect(
      errorLines(check('output_commit:\n  enabled: true\n  interface: v0\n  inbound_during_dump: hold\n')),
    ).toEqual([
      "config/demo.yaml:4:24: output_commit.inbound_during_dump: hold needs a network section: only there does remusd choose CRIU's --network-lock (with criu.extra_args alone, CRIU's own lock stays); add one or use drop",
    ]);
    const network = 'network: { namespace: web, address: 10.88.0.2/24 }\n';
    expect(
      errorLines(check(`${network}output_commit:\n  enabled: true\n  mechanism: plug\n  inbound_during_dump: hold\n`)),
    ).toEqual([
      'config/demo.yaml:5:24: output_commit.inbound_during_dump: hold needs the TUN gate (mechanism tun or auto); the plug gate cannot hold inbound packets',
    ]);
    const held = check(`${network}output_commit:\n  enabled: true\n  inbound_during_dump: drop\n`);
    expect(held.ok && held.config.outputCommit.inboundDuringDump).toBe('drop');
  });

  // output_commit.degrade_after (src/config/degrade.ts): only where the primary can record what it released.
  it('degrade_after: 10 s by default with backup-ack and etcd fencing, never otherwise; refused where it could not be recorded', () => {
    const fencing = 'fencing: { kind: etcd, endpoints: [http://10.0.0.5:2379], name: web, holder: a }\n';
    const acked = 'output_commit:\n  enabled: true\n  interface: v0\n  release_after: backup-ack\n';
    const degradeOf = (text: string) => {
      const result = check(text);
      return result.ok ? result.config.outputCommit.degradeAfterMs : errorLines(result);
    };
    expect(degradeOf(fencing + acked)).toBe(10_000);
    expect(degradeOf(acked)).toBeNull();
    expect(degradeOf(`${fencing + acked}  degrade_after: 3s\n`)).toBe(3000);
    expect(degradeOf(`${fencing + acked}  degrade_after: never\n`)).toBeNull();
    expect(degradeOf(`${acked}  degrade_after: never\n`)).toBeNull();
    expect(degradeOf(`${acked}  degrade_after: 3s\n`)).toEqual([
      'config/demo.yaml:5:18: output_commit.degrade_after: needs fencing.kind etcd: a degraded primary records what it released unacknowledged there, so that no failover restores an older checkpoint; add fencing or write never',
    ]);
    expect(degradeOf(`${fencing}output_commit:\n  enabled: true\n  interface: v0\n  degrade_after: 3s\n`)).toEqual([
      'config/demo.yaml:5:18: output_commit.degrade_after: only applies with release_after: backup-ack (nothing else waits for the backup); remove it',
    ]);
    expect(degradeOf(`${fencing + acked}  degrade_after: 100ms\n`)).toEqual([
      'config/demo.yaml:6:18: output_commit.degrade_after: "100ms" is below the minimum of 500ms; write a longer duration, or never',
    ]);
    expect(String(degradeOf(`${fencing + acked}  degrade_after: sometimes\n`))).toMatch(
      /degrade_after: "sometimes" .*/,
    );
  });
});
