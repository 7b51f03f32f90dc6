// One run of a stream bench's C pair (src/workload/udp-stream.c, tcp-stream.c): the receiver on the host,
// the sender inside the service's namespace, sending to the host's address. The receiver says `ready PORT`
// once it listens; the sender may only start then.
import { execa, type ResultPromise } from 'execa';
import type { ServiceNetwork } from '../net/index.js';

/**
 * Runs `BINARY recv HOST 0 RECV_ARGS…` on the host and, once it listens, `BINARY send HOST PORT SEND_ARGS…`
 * inside the namespace; returns the receiver's last line (its summary) once both have ended.
 */
export async function streamFromNamespace(
  binary: string,
  network: ServiceNetwork,
  what: string,
  args: { recv: string[]; send: string[] },
): Promise<string> {
  const host = network.config.hostAddress;
  const receiver = execa(binary, ['recv', host, '0', ...args.recv]);
  const port = await receiverPort(receiver, `${what} recv`);
  await execa('nsenter', [`--net=${network.path}`, binary, 'send', host, port, ...args.send]);
  return (await receiver).stdout.trim().split('\n').pop() ?? '';
}

/** The port a stream receiver listens on, from its first line; rejects with that line when it is not `ready PORT`. */
function receiverPort(receiver: ResultPromise, what: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    receiver.stdout?.once('data', (data: Buffer) => {
      const port = /^ready (\d+)/.exec(data.toString())?.[1];
      if (port === undefined) reject(new Error(`${what}: ${data.toString()}`));
      else resolve(port);
    });
    receiver.once('error', reject);
  });
}
