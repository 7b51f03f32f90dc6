// remusd's lossless network lock: with output commit on the TUN gate and a network section, every packet
// for the workload that arrives while CRIU dumps it is held by remusd and let in afterwards (CRIU runs with
// --network-lock skip), instead of being dropped by CRIU's nftables lock. The workload is a UDP receiver
// (src/workload/udp-stream.c) checkpointed every 100 ms; a sender in the host's namespace numbers 1500
// datagrams. Held: every one arrives, in order. The negative control (inbound_during_dump: drop, CRIU's
// nftables lock) loses some: UDP has no retransmission to hide it, so the count shows each drop.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ensureUdpStreamBinary } from '../../src/workload/build.js';
import { spawnCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import { networkPlan, networkYaml } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';

/**
 * 500 datagrams a second for 3 s. A dump of this small receiver took 0.3-1.3 s here under load (2 cores,
 * load ~15), so the stream crosses at least one dump: 280-630 datagrams arrived during single dumps.
 */
const RATE_PER_S = 500;
const SECONDS = 3;
const PAYLOAD = 100;

interface Received {
  received: number;
  next: number;
  missing: number;
  reordered: number;
  /** records.jsonl's input_held, one per checkpoint. */
  inputHeld: (number | null)[];
  checkpointsDuringStream: number;
}

async function streamThroughDumps(inbound: 'hold' | 'drop'): Promise<Received> {
  const { primary } = networkPlan('ll', '10.102');
  const root = await imagesDir();
  const images = join(root, 'images');
  await writeFile(
    join(root, 'remusd.yaml'),
    'interval: { initial: 100ms, min: 100ms, max: 100ms }\npolicy: { kind: fixed }\ncheckpoint: { mode: full, dir: ./images }\n' +
      networkYaml(primary) +
      `output_commit: { enabled: true, inbound_during_dump: ${inbound} }\n`,
  );
  const binary = await ensureUdpStreamBinary();
  const address = primary.address.address;
  const run = spawnCli(['run', '--config', join(root, 'remusd.yaml'), '--', binary, 'recv', address, '0', '5000']);
  let log = '';
  run.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  try {
    const output = join(images, 'workload.out');
    const port = await waitFor(
      'the receiver to bind',
      async () => /^ready (\d+)/m.exec(await readFile(output, 'utf8').catch(() => ''))?.[1],
      60_000,
      100,
    );
    const records = join(images, 'records.jsonl');
    const count = async () => (await readFile(records, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
    await waitFor('two checkpoints', async () => ((await count()) >= 2 ? true : undefined), 60_000, 100);
    const before = await count();
    await execa(binary, [
      'send',
      address,
      port,
      String(SECONDS * 1000),
      String(PAYLOAD),
      String(RATE_PER_S * (PAYLOAD + 28)),
    ]);
    const during = (await count()) - before;
    const line = await waitFor(
      'the receiver to finish',
      async () => /^received .*/m.exec(await readFile(output, 'utf8').catch(() => ''))?.[0],
      30_000,
      100,
    );
    // The receiver exits after the sender's end marker (or 5 s of silence), and remusd with it.
    const result = await run;
    expect(result.exitCode, log).toBe(0);
    const fields = Object.fromEntries([...line.matchAll(/(\w+) (\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
    const inputHeld = (await readFile(records, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { input_held: number | null }).input_held);
    return {
      received: fields.received!,
      next: fields.next!,
      missing: fields.missing!,
      reordered: fields.reordered!,
      inputHeld,
      checkpointsDuringStream: during,
    };
  } finally {
    run.kill('SIGKILL');
  }
}

describe("remusd's lossless network lock during dumps", () => {
  it('holds what arrives for the workload while CRIU dumps it, and lets all of it in, in order', async () => {
    const held = await streamThroughDumps('hold');
    console.log(`held: ${JSON.stringify({ ...held, inputHeld: held.inputHeld.slice(0, 20) })}`);
    expect(held.checkpointsDuringStream).toBeGreaterThanOrEqual(1); // the stream crossed dumps
    expect(held.next).toBeGreaterThan(0.9 * RATE_PER_S * SECONDS); // the sender kept its pace
    expect(held.missing).toBe(0);
    expect(held.received).toBe(held.next);
    expect(held.reordered).toBe(0);
    expect(held.inputHeld.some((n) => (n ?? 0) > 0)).toBe(true); // some arrived during a dump and were held
  });

  it("negative control: CRIU's nftables lock drops what arrives during a dump", async () => {
    const dropped = await streamThroughDumps('drop');
    console.log(`dropped: ${JSON.stringify({ ...dropped, inputHeld: dropped.inputHeld.slice(0, 20) })}`);
    expect(dropped.checkpointsDuringStream).toBeGreaterThanOrEqual(1);
    expect(dropped.missing).toBeGreaterThan(0);
    expect(dropped.inputHeld.every((n) => n === null)).toBe(true); // no inbound hold: nothing counted
  });
});
