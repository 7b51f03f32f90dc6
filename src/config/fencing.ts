// The `fencing` config section: which lease engine keeps two hosts from both running the workload, where it is,
// and how this host behaves when it cannot keep its lease. Shared by run, backup and failover.
//
//   fencing:
//     kind: etcd                       # none (default) | etcd
//     endpoints: [http://10.0.0.5:2379]
//     prefix: /remusd                  # the lease key is PREFIX/NAME/leader
//     name: web                        # the protected service: the same on both hosts
//     holder: host-a                   # this host, as written in the key (default: the host name)
//     ttl: 5s                          # etcd lease TTL, whole seconds, ≥ 2 s (etcd's own minimum)
//     renew_every: 1s                  # default ttl / 3
//     margin: 1s                       # fence this long before the lease could expire (default ttl / 5)
//     on_fence: freeze                 # freeze (default) | kill
//     acquire_timeout: 10s             # run/failover: how long to wait for a lease held by someone else
//     tls: { ca: ca.pem, cert: client.pem, key: client-key.pem }

import { hostname } from 'node:os';
import { isAbsolute, normalize, resolve } from 'node:path';
import { z } from 'zod';
import type { KeyPath } from './errors.js';
import * as field from './fields.js';
import { formatMs } from './units.js';

export const FENCING_KINDS = ['none', 'etcd'] as const;
export const FENCE_ACTIONS = ['freeze', 'kill'] as const;
export type FenceAction = (typeof FENCE_ACTIONS)[number];

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const nameField = (what: string) =>
  field.field(what, (value) =>
    typeof value === 'string' && NAME.test(value)
      ? { ok: true as const, value }
      : { ok: false as const, error: 'is not allowed; use 1-64 letters, digits, ".", "_" or "-"' },
  );
const prefixField = field.field('a key prefix (e.g. /remusd)', (value) =>
  typeof value === 'string' && /^\/[\x21-\x7e]{0,127}$/.test(value) && !value.endsWith('/')
    ? { ok: true as const, value }
    : {
        ok: false as const,
        error: 'is not allowed; use a printable key prefix starting with "/" and not ending with it, e.g. /remusd',
      },
);
const endpointList = z
  .array(
    field.field('an etcd client URL', (value) =>
      typeof value === 'string' && /^https?:\/\/[^\s/]+:\d{1,5}$/.test(value)
        ? { ok: true as const, value }
        : { ok: false as const, error: 'is not an etcd client URL; use http://HOST:PORT or https://HOST:PORT' },
    ),
  )
  .optional();

/** The section as written (per-value checks done). */
export const fencingSection = z
  .strictObject({
    kind: field.oneOf(FENCING_KINDS),
    endpoints: endpointList,
    prefix: prefixField,
    name: nameField('the service name (e.g. web)'),
    holder: nameField("this host's name (e.g. host-a)"),
    ttl: field.duration(1),
    renew_every: field.duration(1),
    margin: field.duration(1),
    on_fence: field.oneOf(FENCE_ACTIONS),
    acquire_timeout: field.duration(0),
    tls: z.strictObject({ ca: field.path, cert: field.path, key: field.path }).optional(),
  })
  .optional();

export type FencingFile = z.output<typeof fencingSection>;

/** Lease timing, in ms. */
export interface LeaseTiming {
  ttlMs: number;
  renewEveryMs: number;
  /** The holder fences itself this long before its lease could expire (clock rate, timer lateness, freeze time). */
  marginMs: number;
}

/** The normalized section. */
export type FencingConfig =
  | { kind: 'none' }
  | {
      kind: 'etcd';
      endpoints: string[];
      prefix: string;
      name: string;
      holder: string;
      timing: LeaseTiming;
      onFence: FenceAction;
      acquireTimeoutMs: number;
      tls: { ca: string; cert: string | null; key: string | null } | null;
    };

export const FENCING_DEFAULTS = Object.freeze({
  prefix: '/remusd',
  /** Patroni's default loop_wait is 10 s with ttl 30 s; a Remus pair wants a faster takeover. */
  ttlMs: 5_000,
  onFence: 'freeze',
});

/** Fills in defaults and resolves the TLS paths against baseDir. */
export function normalizeFencing(file: FencingFile, baseDir: string): FencingConfig {
  if (file === undefined || (file.kind ?? 'none') === 'none') return { kind: 'none' };
  const ttlMs = file.ttl ?? FENCING_DEFAULTS.ttlMs;
  const at = (path: string | undefined) =>
    path === undefined ? null : isAbsolute(path) ? normalize(path) : resolve(baseDir, path);
  return {
    kind: 'etcd',
    endpoints: (file.endpoints ?? []).filter((e): e is string => e !== undefined),
    prefix: file.prefix ?? FENCING_DEFAULTS.prefix,
    name: file.name ?? '',
    holder: file.holder ?? (NAME.test(hostname()) ? hostname() : 'host'),
    timing: {
      ttlMs,
      renewEveryMs: file.renew_every ?? Math.round(ttlMs / 3),
      marginMs: file.margin ?? Math.round(ttlMs / 5),
    },
    onFence: file.on_fence ?? FENCING_DEFAULTS.onFence,
    acquireTimeoutMs: file.acquire_timeout ?? 2 * ttlMs,
    tls: file.tls === undefined ? null : { ca: at(file.tls.ca) ?? '', cert: at(file.tls.cert), key: at(file.tls.key) },
  };
}

/** Rules across keys; each violation names the key at fault. */
export function fencingRules(
  config: FencingConfig,
  file: FencingFile,
): { path: KeyPath; message: string; value?: unknown }[] {
  const at = (key: string): KeyPath => ['fencing', key];
  if (config.kind === 'none') {
    const extra = Object.keys(file ?? {}).filter((key) => key !== 'kind');
    return extra.map((key) => ({
      path: at(key),
      message: 'has no effect with fencing.kind none; remove it or set fencing.kind: etcd',
    }));
  }
  const out: { path: KeyPath; message: string; value?: unknown }[] = [];
  if (config.endpoints.length === 0)
    out.push({
      path: at('endpoints'),
      message: 'is required with fencing.kind etcd: list the etcd client URLs, e.g. [http://10.0.0.5:2379]',
    });
  if (config.name === '')
    out.push({
      path: at('name'),
      message: 'is required with fencing.kind etcd: name the protected service (the same on both hosts)',
    });
  const { ttlMs, renewEveryMs, marginMs } = config.timing;
  if (ttlMs % 1000 !== 0 || ttlMs < 2000) {
    out.push({
      path: at('ttl'),
      value: file?.ttl,
      message: `${formatMs(ttlMs)} is not allowed; etcd leases count whole seconds, at least 2s`,
    });
  } else if (renewEveryMs + marginMs >= ttlMs) {
    out.push({
      path: at(file?.renew_every !== undefined ? 'renew_every' : 'margin'),
      message: `renew_every ${formatMs(renewEveryMs)} + margin ${formatMs(marginMs)} must be less than ttl ${formatMs(ttlMs)}: a renewal must be due before the fence`,
    });
  }
  const https = config.endpoints.filter((e) => e.startsWith('https://'));
  if (https.length > 0 && config.tls === null)
    out.push({
      path: at('tls'),
      message: `is required for ${https[0]}: give tls.ca (and tls.cert, tls.key for client certificates)`,
    });
  if (config.tls !== null) {
    if (https.length !== config.endpoints.length)
      out.push({
        path: at('endpoints'),
        message: 'mixes http:// with tls; use https:// for every endpoint when tls is set',
      });
    if (config.tls.ca === '')
      out.push({
        path: ['fencing', 'tls', 'ca'],
        message: "is required with tls: the CA that signed the etcd servers' certificates",
      });
    if ((config.tls.cert === null) !== (config.tls.key === null))
      out.push({
        path: ['fencing', 'tls', config.tls.cert === null ? 'cert' : 'key'],
        message: 'cert and key go together',
      });
  }
  return out;
}

/** The lease key: PREFIX/NAME/leader. */
export function leaderKey(config: Extract<FencingConfig, { kind: 'etcd' }>): string {
  return `${config.prefix}/${config.name}/leader`;
}
