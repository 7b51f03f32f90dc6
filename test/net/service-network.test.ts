import { createConnection } from 'node:net';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import {
  closeServiceNetwork,
  freshServiceNetwork,
  inNamespace,
  namespaceInode,
  NetError,
  openServiceNetwork,
  processNamespaceInode,
  routeTo,
  routeToServiceNetwork,
} from '../../src/net/index.js';
import { startSessionLeader } from '../../src/process/session-leader.js';
import { networkPlan } from '../helpers/net.js';
import { killAndWait } from '../helpers/workload.js';

const lines: string[] = [];
const log = { info: (message: string) => void lines.push(message) };
const pids: number[] = [];
afterAll(async () => Promise.all(pids.map((pid) => killAndWait(pid))));

// A one-line TCP reply from ADDRESS:PORT, asked from the host namespace (this process).
async function ask(address: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: address, port, timeout: 3000 });
    let reply = '';
    socket.on('data', (chunk) => (reply += chunk.toString()));
    socket.on('end', () => resolve(reply));
    socket.on('timeout', () => socket.destroy(new Error(`no reply from ${address}:${port} in 3 s`)));
    socket.on('error', reject);
  });
}

// A server inside the namespace that answers every connection with `name` (a separate node process).
async function answerIn(namespace: string, address: string, name: string): Promise<number> {
  const script = `const s = require('net').createServer((c) => c.end('${name}')); s.listen(0, '${address}', () => console.log(s.address().port));`;
  const { command, args } = inNamespace(namespace, process.execPath, ['-e', script]);
  const child = execa(command, args, { detached: true, stdin: 'ignore', buffer: false, reject: false });
  pids.push(child.pid!);
  return new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    void child.then((result) =>
      reject(new Error(`server in ${namespace} exited: ${result.exitCode ?? result.signal}`)),
    );
  });
}

describe('service networks (real namespaces, veths and routes)', () => {
  it('run side: creates namespace + veth, the host reaches the service address from the host address', async () => {
    const { primary } = networkPlan('rn', '10.71');
    const network = await openServiceNetwork(primary, log);
    expect(network.origin).toBe('created');
    await routeToServiceNetwork(primary);
    expect(await routeTo(primary.address.address)).toEqual({
      dev: primary.hostInterface,
      prefsrc: primary.hostAddress,
    });
    const port = await answerIn(primary.namespace, primary.address.address, 'primary');
    expect(await ask(primary.address.address, port)).toBe('primary');

    // A process started through inNamespace is in that namespace (nsenter keeps the pid: it execs).
    const sleeper = inNamespace(primary.namespace, 'sleep', ['30']);
    const child = startSessionLeader(sleeper.command, sleeper.args, '/dev/null');
    pids.push(child.pid);
    await expect.poll(() => processNamespaceInode(child.pid)).toBe(network.inode);

    // Opening it again (a restarted remusd) reuses it, says so, and keeps it working.
    const again = await openServiceNetwork(primary, log);
    expect(again).toMatchObject({ origin: 'reused', inode: network.inode });
    expect(lines.at(-1)).toContain('reusing it');
    expect(await ask(primary.address.address, port)).toBe('primary');

    // While processes run inside, close keeps it and says why.
    expect(await closeServiceNetwork(primary)).toMatchObject({
      removed: false,
      why: expect.stringContaining('processes still run'),
    });
    await Promise.all(pids.splice(0).map((pid) => killAndWait(pid)));
    expect(await closeServiceNetwork(primary)).toEqual({ removed: true, why: 'its workload is gone' });
    expect((await execa('ip', ['link', 'show', primary.hostInterface], { reject: false })).exitCode).not.toBe(0);
    expect((await execa('ip', ['netns', 'list'])).stdout).not.toContain(primary.namespace);
  });

  it('failover side: a fresh namespace with the same address takes the route over, and the host keeps its source', async () => {
    const { primary, backup } = networkPlan('rn', '10.71');
    await openServiceNetwork(primary, log);
    await routeToServiceNetwork(primary);
    const primaryPort = await answerIn(primary.namespace, primary.address.address, 'primary');
    expect(await ask(primary.address.address, primaryPort)).toBe('primary');

    const fresh = await freshServiceNetwork(backup, log);
    expect(fresh.origin).toBe('created');
    expect(fresh.inode).not.toBe(await namespaceInode(primary.namespace));
    const backupPort = await answerIn(backup.namespace, backup.address.address, 'backup');
    await routeToServiceNetwork(backup);
    expect(await routeTo(backup.address.address)).toEqual({ dev: backup.hostInterface, prefsrc: backup.hostAddress });
    expect(await ask(backup.address.address, backupPort)).toBe('backup');

    // A fresh namespace never reuses: with a process inside it refuses, as a leftover it is replaced.
    await expect(freshServiceNetwork(backup, log)).rejects.toThrow(NetError);
    await expect(freshServiceNetwork(backup, log)).rejects.toThrow(/still has processes/);
    await Promise.all(pids.splice(0).map((pid) => killAndWait(pid)));
    const replaced = await freshServiceNetwork(backup, log);
    expect(replaced.origin).toBe('replaced'); // (its inode may be the old one's: the kernel reuses nsfs inodes)
    expect(lines.at(-1)).toContain('leftover with no process inside: replacing it');
  });

  it('a host interface of that name that is not the veth is a clear error, not a takeover', async () => {
    const { primary } = networkPlan('rn', '10.71');
    // A veth pair that lives on the host, unrelated to the namespace (this kernel has no dummy driver).
    await execa('ip', [
      'link',
      'add',
      primary.hostInterface,
      'type',
      'veth',
      'peer',
      'name',
      `${primary.hostInterface}x`,
    ]);
    await expect(openServiceNetwork(primary, log)).rejects.toThrow(
      `the host already has an interface ${primary.hostInterface} that is not the veth`,
    );
    expect((await execa('ip', ['link', 'show', `${primary.hostInterface}x`], { reject: false })).exitCode).toBe(0); // untouched
  });
});
