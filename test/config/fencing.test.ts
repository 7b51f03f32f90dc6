import { describe, expect, it } from 'vitest';
import { configFromText } from '../../src/config/load.js';
import { errorLines } from './helpers.js';

const check = (text: string) => configFromText(text, 'f.yaml', '/etc/remusd');

describe('fencing section', () => {
  it('defaults to none; etcd fills in prefix, timing, action and resolves TLS paths', () => {
    const none = check('');
    expect(none.ok && none.config.fencing).toEqual({ kind: 'none' });
    const etcd = check(
      'fencing:\n  kind: etcd\n  endpoints: [https://10.73.0.3:2379]\n  name: web\n  holder: host-a\n  ttl: 6s\n  tls: { ca: certs/ca.pem, cert: /k/c.pem, key: /k/k.pem }\n',
    );
    expect(etcd.ok && etcd.config.fencing).toEqual({
      kind: 'etcd',
      endpoints: ['https://10.73.0.3:2379'],
      prefix: '/remusd',
      name: 'web',
      holder: 'host-a',
      timing: { ttlMs: 6000, renewEveryMs: 2000, marginMs: 1200 },
      onFence: 'freeze',
      acquireTimeoutMs: 12_000,
      tls: { ca: '/etc/remusd/certs/ca.pem', cert: '/k/c.pem', key: '/k/k.pem' },
    });
  });

  it('says which key is wrong and what is allowed', () => {
    expect(errorLines(check('fencing:\n  kind: etcd\n  ttl: 1500ms\n'))).toEqual([
      'f.yaml:2:3: fencing.endpoints: is required with fencing.kind etcd: list the etcd client URLs, e.g. [http://10.0.0.5:2379]',
      'f.yaml:2:3: fencing.name: is required with fencing.kind etcd: name the protected service (the same on both hosts)',
      'f.yaml:3:8: fencing.ttl: 1.50 s is not allowed; etcd leases count whole seconds, at least 2s',
    ]);
    expect(
      errorLines(
        check('fencing:\n  kind: etcd\n  endpoints: [10.0.0.5:2379]\n  name: "a b"\n  on_fence: pause\n  lease: 3s\n'),
      ),
    ).toEqual([
      'f.yaml:3:15: fencing.endpoints[0]: "10.0.0.5:2379" is not an etcd client URL; use http://HOST:PORT or https://HOST:PORT',
      'f.yaml:4:9: fencing.name: "a b" is not allowed; use 1-64 letters, digits, ".", "_" or "-"',
      'f.yaml:5:13: fencing.on_fence: "pause" is not allowed; use one of freeze, kill',
      expect.stringMatching(
        /^f\.yaml:6:3: fencing\.lease: is not a known key; allowed keys under fencing: kind, endpoints, prefix, name, holder, ttl/,
      ),
    ]);
    expect(
      errorLines(
        check('fencing:\n  kind: etcd\n  endpoints: [http://a:1]\n  name: w\n  ttl: 3s\n  renew_every: 2500ms\n'),
      ),
    ).toEqual([
      'f.yaml:6:16: fencing.renew_every: renew_every 2.50 s + margin 600 ms must be less than ttl 3.00 s: a renewal must be due before the fence',
    ]);
    expect(errorLines(check('fencing:\n  kind: etcd\n  endpoints: [https://a:1]\n  name: w\n'))[0]).toMatch(
      /fencing\.tls: is required for https:\/\/a:1/,
    );
    expect(errorLines(check('fencing:\n  name: w\n'))).toEqual([
      expect.stringMatching(
        /fencing\.name: has no effect with fencing\.kind none; remove it or set fencing\.kind: etcd/,
      ),
    ]);
  });
});
