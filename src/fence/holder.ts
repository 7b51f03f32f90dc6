// Holding the leader key: acquire it (waiting a bounded time for a previous holder's lease to end), keep its
// lease alive on the schedule lease-state.ts computes, and call onFenced exactly once when it is lost or can
// no longer be proven held. Nothing here stops a workload: the caller does (fence-action.ts).

import type { Etcd3 } from 'etcd3';
import type { Clock } from '../loop/clock.js';
import {
  claimLeader,
  etcdClient,
  etcdErrorText,
  grantLease,
  keepAlive,
  leaseSecondsLeft,
  readLeader,
  revokeLease,
  updateLeader,
  type EtcdFencing,
  type GrantedLease,
  type Leader,
  type LeaderValue,
} from './etcd.js';
import { leaderKey } from '../config/fencing.js';
import { clearReleased, readReleased, recordReleased, type Released, type ReleasedValue } from './released.js';
import { fenceAtMs, granted, lost, nextAction, renewed, renewFailed, type LeaseState } from './lease-state.js';

/** Why the leader key could not be acquired. */
export class LeaseUnavailableError extends Error {
  constructor(
    message: string,
    /** held: someone else holds it; unreachable: etcd did not answer. */
    readonly why: 'held' | 'unreachable',
  ) {
    super(message);
    this.name = 'LeaseUnavailableError';
  }
}

export interface HolderEvents {
  /** A renewal answered after latencyMs. */
  renewed?(latencyMs: number): void;
  /** A renewal failed; the lease still holds until its deadline. */
  renewFailed?(error: string, msToFence: number): void;
  /** Called once: the lease is lost or unprovable; stop the workload now. */
  fenced(reason: string): void;
}

/** Describes who holds the key, for messages. */
export function describeLeader(leader: Leader): string {
  if (!leader.held) return 'nobody';
  const value = leader.value;
  if ('invalid' in value) return `an unreadable value (${value.invalid}) under lease ${leader.leaseId}`;
  return `${value.holder} (${value.role}, pid ${value.pid}, since ${value.since}${value.checkpoint === undefined ? '' : `, checkpoint ${value.checkpoint}`})`;
}

/** A held leader key, renewed until stop(), release() or the fence. */
export class LeaseHolder {
  private state: LeaseState;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly done: Promise<void>;
  private value: LeaderValue;

  private constructor(
    private readonly client: Etcd3,
    private readonly config: EtcdFencing,
    private readonly granted: GrantedLease,
    value: LeaderValue,
    private readonly clock: Clock,
    private readonly events: HolderEvents,
  ) {
    this.value = value;
    this.state = granted_(config, granted);
    this.done = this.loop();
  }

  /**
   * Acquires PREFIX/NAME/leader for `value`, retrying while another holder has it or etcd is unreachable, for
   * at most waitMs. Throws LeaseUnavailableError (with who holds it, or why etcd could not be reached).
   */
  static async acquire(
    config: EtcdFencing,
    value: LeaderValue,
    options: {
      waitMs: number;
      clock: Clock;
      events: HolderEvents;
      log?: (message: string) => void;
      signal?: AbortSignal;
    },
  ): Promise<LeaseHolder> {
    const { clock } = options;
    const key = leaderKey(config);
    const callMs = callTimeout(config);
    const client = etcdClient(config, callMs);
    const giveUpAt = clock.now() + options.waitMs;
    let told = '';
    for (;;) {
      let failure: LeaseUnavailableError;
      try {
        const lease = await grantLease(client, config.timing.ttlMs, callMs, () => clock.now());
        const claim = await claimLeader(client, key, lease, value, callMs).catch(async (error: unknown) => {
          await revokeLease(lease.lease, callMs).catch(() => undefined);
          throw error;
        });
        if (claim.claimed)
          return new LeaseHolder(
            client,
            config,
            { ...lease, ttlMs: Math.min(lease.ttlMs, config.timing.ttlMs) },
            value,
            clock,
            options.events,
          );
        await revokeLease(lease.lease, callMs).catch(() => undefined);
        failure = new LeaseUnavailableError(`${key} is held by ${describeLeader(claim)}`, 'held');
      } catch (error) {
        if (error instanceof LeaseUnavailableError) throw error;
        failure = new LeaseUnavailableError(
          `cannot reach etcd at ${config.endpoints.join(', ')}: ${etcdErrorText(error)}`,
          'unreachable',
        );
      }
      if (failure.message !== told && options.waitMs > 0)
        options.log?.(
          `${failure.message}; waiting up to ${Math.round(Math.max(0, giveUpAt - clock.now()))} ms for the lease`,
        );
      told = failure.message;
      if (clock.now() >= giveUpAt || options.signal?.aborted) {
        client.close();
        throw failure;
      }
      await clock.sleep(Math.min(250, Math.max(0, giveUpAt - clock.now())), options.signal);
    }
  }

  /** The lease id (hex as etcd gives it, decimal string). */
  get leaseId(): string {
    return this.granted.id;
  }

  /** held or fenced, with the deadlines (for status and metrics). */
  get current(): LeaseState {
    return this.state;
  }

  /** Ms until this holder would fence itself if no renewal succeeded from now on (0 once fenced). */
  msToFence(): number {
    return this.state.phase === 'held' ? Math.max(0, fenceAtMs(this.state, this.config.timing) - this.clock.now()) : 0;
  }

  /** Rewrites the key's value while it is ours (best effort: a failure is not a fence, the renewals decide). */
  async publish(update: Partial<LeaderValue>): Promise<boolean> {
    if (this.state.phase !== 'held') return false;
    this.value = { ...this.value, ...update };
    return updateLeader(
      this.client,
      leaderKey(this.config),
      this.granted.id,
      this.value,
      callTimeout(this.config),
    ).catch(() => false);
  }

  /** Writes PREFIX/NAME/released in one transaction with the check that this lease holds the leader key (released.ts). */
  async recordReleased(value: ReleasedValue): Promise<boolean> {
    if (this.state.phase !== 'held') return false;
    return recordReleased(this.client, this.config, this.granted.id, value, callTimeout(this.config));
  }

  /** Deletes PREFIX/NAME/released if it still says `expected` and this lease holds the leader key. */
  async clearReleased(expected: ReleasedValue): Promise<boolean> {
    if (this.state.phase !== 'held') return false;
    return clearReleased(this.client, this.config, this.granted.id, expected, callTimeout(this.config));
  }

  /** Reads PREFIX/NAME/released (a backup, after taking the lease, before it restores). */
  readReleased(): Promise<Released> {
    return readReleased(this.client, this.config, callTimeout(this.config));
  }

  /** Stops renewing and lets the lease run out in etcd (the workload is still running: others must wait the TTL). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.done;
    this.client.close();
  }

  /** Stops renewing and revokes the lease, so that a backup may take over at once (the workload is gone). */
  async release(): Promise<boolean> {
    this.stopped = true;
    this.wake?.();
    await this.done;
    const ok = await revokeLease(this.granted.lease, callTimeout(this.config)).then(
      () => true,
      () => false,
    );
    this.client.close();
    return ok;
  }

  private async loop(): Promise<void> {
    const { timing } = this.config;
    const key = leaderKey(this.config);
    while (!this.stopped) {
      const now = this.clock.now();
      const action = nextAction(this.state, timing, now);
      if (action.type === 'fence') {
        this.events.fenced(action.reason);
        return;
      }
      if (action.type === 'wait') {
        await this.nap(action.untilMs - now);
        continue;
      }
      const sentMs = this.clock.now();
      const budget = Math.min(callTimeout(this.config), action.deadlineMs - sentMs);
      try {
        // The keepalive proves the lease lives; the read proves the key is still ours (an operator may have
        // deleted it, or another lease written it): either failing is a loss.
        const [ttlMs, leader] = await Promise.all([
          keepAlive(this.granted.lease, budget),
          readLeader(this.client, key, budget),
        ]);
        const at = this.clock.now();
        if (leader.held && leader.leaseId !== this.granted.id)
          this.state = lost(this.state, `${key} now holds another lease: ${describeLeader(leader)}`, at);
        else if (!leader.held && ttlMs > 0)
          this.state = lost(this.state, `${key} was deleted while lease ${this.granted.id} was alive`, at);
        else this.state = renewed(this.state, timing, sentMs, ttlMs, at);
        if (this.state.phase === 'held') this.events.renewed?.(at - sentMs);
      } catch (error) {
        this.state = renewFailed(this.state, timing, etcdErrorText(error), this.clock.now());
        this.events.renewFailed?.(etcdErrorText(error), this.msToFence());
      }
    }
  }

  private nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const controller = new AbortController();
      this.wake = () => controller.abort();
      void Promise.resolve(this.clock.sleep(ms, controller.signal)).then(resolve);
    });
  }
}

function granted_(config: EtcdFencing, lease: GrantedLease): LeaseState {
  return granted(config.timing, lease.id, lease.sentMs, lease.ttlMs);
}

// One etcd call may take at most a renewal period: a longer one could not help the deadline anyway.
function callTimeout(config: EtcdFencing): number {
  return Math.max(200, Math.min(config.timing.renewEveryMs, 2_000));
}

/** Reads who holds the key (status, and the backup's messages); closes its own client. */
export async function whoLeads(config: EtcdFencing): Promise<Leader> {
  return (await leaderStatus(config)).leader;
}

/** Who holds the key, how long its lease has left in etcd (seconds; undefined when free), and output released unacknowledged. */
export async function leaderStatus(
  config: EtcdFencing,
): Promise<{ leader: Leader; ttlLeftSeconds: number | undefined; released: Released }> {
  const client = etcdClient(config, callTimeout(config));
  try {
    const leader = await readLeader(client, leaderKey(config), callTimeout(config));
    const ttlLeftSeconds = leader.held
      ? await leaseSecondsLeft(client, leader.leaseId, callTimeout(config))
      : undefined;
    const released = await readReleased(client, config, callTimeout(config));
    return { leader, ttlLeftSeconds, released };
  } finally {
    client.close();
  }
}
