// Stands in for remusd: owns a TUN gate (from the built dist/) and obeys stdin ("barrier N", "release N"),
// so a test can kill -9 it with packets held.
import { createInterface } from 'node:readline';
const { TunGate } = await import(new URL('../../dist/gate/tun.js', import.meta.url).href);
const [hostInterface, tun, maxHeldBytes] = process.argv.slice(2);
const gate = await TunGate.start({ hostInterface, tun, maxHeldBytes: Number(maxHeldBytes) });
process.stdout.write(`ready ${gate.helperPid}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const [word, n] = line.split(' ');
  const result = word === 'barrier' ? await gate.barrier(Number(n)) : await gate.release(Number(n));
  process.stdout.write(`${JSON.stringify({ ...result, holds: undefined })}\n`);
}
