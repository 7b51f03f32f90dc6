// A tiny network peer run inside a test namespace: commands on stdin, one answer line each on stdout.
//   udp HOST PORT FROM COUNT SIZE   send datagrams numbered FROM.. (a 4-byte big-endian number, padded to SIZE)
//   listen PORT                     a TCP server (PORT 0: any, answered "ok PORT"): echoes upper-cased; for
//                                   "bulk N" sends N bytes of a pattern
//   recv-udp PORT                   count datagrams arriving on PORT ("count" prints how many so far)
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

const udp = createSocket('udp4');
let received = 0;
const say = (line) => process.stdout.write(`${line}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const [word, ...args] = line.split(' ');
  if (word === 'udp') {
    const [host, port, from, count, size] = args;
    for (let i = 0; i < Number(count); i++) {
      const datagram = Buffer.alloc(Number(size), 0x61);
      datagram.writeUInt32BE(Number(from) + i, 0);
      await new Promise((resolve) => udp.send(datagram, Number(port), host, resolve));
    }
    say('ok');
  } else if (word === 'listen') {
    const server = createServer((socket) => {
      socket.on('data', (data) => {
        const text = data.toString();
        const bulk = /^bulk (\d+)/.exec(text);
        if (bulk) socket.write(Buffer.alloc(Number(bulk[1]), 0x62));
        else socket.write(text.toUpperCase());
      });
      socket.on('error', () => undefined);
    });
    // Port 0: any free port, said in the answer ("ok PORT").
    server.listen(Number(args[0]), () => say(args[0] === '0' ? `ok ${server.address().port}` : 'ok'));
  } else if (word === 'recv-udp') {
    const socket = createSocket('udp4');
    socket.on('message', () => (received += 1));
    socket.bind(Number(args[0]), () => say('ok'));
  } else if (word === 'count') {
    say(String(received));
  }
}
