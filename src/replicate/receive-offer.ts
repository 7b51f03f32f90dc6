// One offer on a sender's connection: judged, landed (verified, renamed into place), acknowledged, within
// the transfer's limits of time and rate; and the status messages a sender may send at any time.
import { PeerError, type Channel } from './channel.js';
import { holdingsOf } from './backup-runs.js';
import { judgeOffer } from './intake.js';
import { Landing, VerifyError } from './landing.js';
import { ProtocolError, type Frame, type Message } from './protocol.js';
import type { Intake, ReceiverOptions, Sender } from './receiver-options.js';
import { TransferClock, type TransferLimits } from './transfer-clock.js';

// A frame arrived: the sender is alive; status messages are reported and logged as they come.
export function heard(frame: Frame, { peer, run }: Sender, options: ReceiverOptions): void {
  const message = frame.kind === 'message' ? frame.message : undefined;
  const workload = message?.type === 'heartbeat' || message?.type === 'offer' ? message.workload : undefined;
  options.onEvent?.({ type: 'heard', peer, run, ...(workload === undefined ? {} : { workload }) });
  if (message?.type === 'workload-dead') {
    options.log.warn(`sender ${peer} reports the workload (pid ${message.pid}) dead since ${message.at}`, { run });
    options.onEvent?.({ type: 'workload-dead', peer, run, pid: message.pid, at: message.at });
  } else if (message?.type === 'goodbye') {
    options.log.info(`sender ${peer} said goodbye (${message.reason}): it is stopping on purpose`, { run });
    options.onEvent?.({ type: 'goodbye', peer, run, reason: message.reason });
  }
}

/** Messages that need no answer, accepted between checkpoints and during a transfer. */
export function isStatus(message: Message): boolean {
  return message.type === 'heartbeat' || message.type === 'workload-dead' || message.type === 'goodbye';
}

export async function failed(channel: Channel, message: string): Promise<ProtocolError> {
  await channel.fail(message);
  return new ProtocolError(message);
}

export async function receiveOffer(
  channel: Channel,
  sender: Sender,
  offer: Extract<Message, { type: 'offer' }>,
  intake: Intake,
): Promise<void> {
  const { options } = intake;
  const { log } = options;
  const { peer, run } = sender;
  const { name, parent } = offer.manifest;
  if (offer.manifest.run !== run)
    throw await failed(channel, `offer of ${name} names run ${offer.manifest.run} on a connection of run ${run}`);
  if (intake.closed !== undefined) {
    const message = `refusing ${name}: this backup takes no more checkpoints (${intake.closed})`;
    log.warn(message);
    await channel.send({ type: 'refuse', name, reason: 'failed-over', message, have: [] });
    return;
  }
  const holdings = holdingsOf(sender.dir, name);
  const verdict = judgeOffer(offer.manifest, holdings, Date.now());
  if (verdict.type === 'have') {
    await channel.send({ type: 'have', name });
    options.onEvent?.({ type: 'holds', peer, run, name, how: 'had' });
    return;
  }
  if (verdict.type === 'refuse') {
    log.warn(verdict.message, { run, have: holdings.complete });
    await channel.send({
      type: 'refuse',
      name,
      reason: verdict.reason,
      message: verdict.message,
      have: [...holdings.complete],
    });
    return;
  }
  const started = performance.now();
  const landing = new Landing(sender.dir, offer.manifest);
  landing.begin();
  const cut = watchTransfer(channel, offer, intake.limits, started);
  try {
    await channel.send({ type: 'accept', name });
    for (;;) {
      const frame = await channel.next().catch((error: Error) => {
        if (cut.reason !== undefined) throw new PeerError(cut.reason);
        if (error instanceof ProtocolError) throw error;
        // A reset, or an end in the middle of a frame (likelier over TLS, whose records split each frame).
        throw new PeerError(
          `the sender closed the connection during ${name} (${landing.bytes} bytes received; ${error.message}); discarded`,
        );
      });
      if (frame === undefined)
        throw new PeerError(
          cut.reason ?? `the sender closed the connection during ${name} (${landing.bytes} bytes received); discarded`,
        );
      heard(frame, sender, options);
      if (frame.kind === 'data') {
        cut.clock.data(frame.bytes.length);
        await landing.write(frame.bytes);
      } else if (frame.message.type === 'done' && frame.message.name === name) break;
      else if (frame.message.type === 'goodbye') {
        options.observer?.failed();
        await landing.abort();
        log.info(
          `the transfer of ${name} ended with the sender's goodbye (${landing.bytes} bytes received); discarded`,
        );
        return;
      } else if (!isStatus(frame.message))
        throw await failed(channel, `unexpected ${frame.message.type} message during the transfer of ${name}`);
    }
  } catch (error) {
    options.observer?.failed();
    await landing.abort();
    throw error;
  } finally {
    cut.stop();
  }
  options.onEvent?.({ type: 'busy', peer, run, busy: true });
  try {
    try {
      await landing.finish();
    } catch (error) {
      if (!(error instanceof VerifyError)) throw error;
      options.observer?.failed();
      log.warn(`rejected ${name}: ${error.message}`);
      await channel.send({ type: 'reject', name, message: error.message });
      return;
    }
    // The checkpoint is complete and `latest` names it: the failover trigger learns it before the ack is sent.
    // A primary that dies right now (the moment failover exists for) leaves the ack unsendable; with the event
    // after it, the backup held a restorable checkpoint on disk and still said "nothing to restore".
    options.observer?.received(landing.bytes, offer.manifest.taken_at);
    options.onEvent?.({ type: 'holds', peer, run, name, how: 'received' });
    log.info(`received ${name}`, {
      run,
      parent,
      bytes: landing.bytes,
      files: offer.manifest.files.length,
      ms: Math.round(performance.now() - started),
    });
    await channel.send({ type: 'ack', name, bytes: landing.bytes });
  } finally {
    options.onEvent?.({ type: 'busy', peer, run, busy: false });
  }
}

// Checks the transfer's clock every 100 ms; once it is over its limits, tells the sender why and closes
// the connection (the receive loop then discards the partial copy, with that reason).
function watchTransfer(
  channel: Channel,
  offer: Extract<Message, { type: 'offer' }>,
  limits: TransferLimits,
  startMs: number,
) {
  const clock = new TransferClock(
    offer.manifest.files.reduce((sum, f) => sum + f.size, 0),
    limits,
    startMs,
  );
  const state: { clock: TransferClock; reason: string | undefined; stop: () => void } = {
    clock,
    reason: undefined,
    stop: () => clearInterval(timer),
  };
  const timer = setInterval(() => {
    const why = clock.check(performance.now());
    if (why === undefined) return;
    clearInterval(timer);
    state.reason = `the transfer of ${offer.manifest.name} was cut: ${why}; discarded`;
    void channel.fail(state.reason).finally(() => channel.destroy());
  }, 100);
  return state;
}
