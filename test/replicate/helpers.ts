import { mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Channel } from '../../src/replicate/channel.js';
import type { ReplicationLog } from '../../src/replicate/events.js';
import { startReceiver, type Receiver } from '../../src/replicate/receiver.js';

/** A log that keeps its lines, for assertions. */
export function collectingLog(): ReplicationLog & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (message, fields) => void lines.push(`info ${message} ${JSON.stringify(fields ?? {})}`),
    warn: (message, fields) => void lines.push(`warn ${message} ${JSON.stringify(fields ?? {})}`),
  };
}

/**
 * Writes a fake checkpoint ROOT/NAME (files of pseudo-random bytes, an optional parent link) as the
 * supervisor would publish it, and points latest at it.
 */
export async function fakeCheckpoint(root: string, name: string, parent: string | null, sizes: Record<string, number>): Promise<void> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  for (const [file, size] of Object.entries(sizes)) {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 131 + name.charCodeAt(7) * 7 + file.length) & 0xff;
    await writeFile(join(dir, file), bytes);
  }
  if (parent !== null) await symlink(`../${parent}`, join(dir, 'parent'));
  await symlink(name, join(root, `.latest.tmp`));
  await rename(join(root, '.latest.tmp'), join(root, 'latest'));
}

/** A receiver on an ephemeral loopback port. */
export async function loopbackReceiver(root: string, keep = 5): Promise<Receiver & { log: ReturnType<typeof collectingLog> }> {
  const log = collectingLog();
  const receiver = await startReceiver({ host: '127.0.0.1', port: 0 }, { root, keep, log });
  return Object.assign(receiver, { log });
}

/** A raw channel to a receiver, with no hello sent (tests speak the protocol by hand). */
export async function rawChannel(port: number): Promise<Channel> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return new Channel(socket);
}

/** Whether two files have the same bytes. */
export async function sameBytes(a: string, b: string): Promise<boolean> {
  return (await readFile(a)).equals(await readFile(b));
}

/** Polls until probe returns a value. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
