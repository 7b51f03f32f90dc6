// Sends UDP datagrams of SIZE bytes to HOST:PORT as fast as it can for MS milliseconds (1024 in flight), then
// prints how many it sent. Run inside a network namespace by the output-commit bench.
import { createSocket } from 'node:dgram';

const [host, port, ms, size] = process.argv.slice(2);
const socket = createSocket('udp4');
const payload = Buffer.alloc(Number(size), 0x5a);
const until = performance.now() + Number(ms);
let sent = 0;
let inFlight = 0;
await new Promise<void>((resolve) => {
  const pump = () => {
    while (inFlight < 1024 && performance.now() < until) {
      inFlight += 1;
      socket.send(payload, Number(port), host, () => {
        inFlight -= 1;
        sent += 1;
        pump();
      });
    }
    if (inFlight === 0) resolve();
  };
  pump();
});
socket.close();
process.stdout.write(`${sent}\n`);
