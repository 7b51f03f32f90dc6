// The stream benches' C receivers (src/workload/udp-stream.c, tcp-stream.c) say `ready PORT` once they
// listen; the sender may only start then.
import type { ResultPromise } from 'execa';

/** The port a stream receiver listens on, from its first line; rejects with that line when it is not `ready PORT`. */
export function receiverPort(receiver: ResultPromise, what: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    receiver.stdout?.once('data', (data: Buffer) => {
      const port = /^ready (\d+)/.exec(data.toString())?.[1];
      if (port === undefined) reject(new Error(`${what}: ${data.toString()}`));
      else resolve(port);
    });
    receiver.once('error', reject);
  });
}
