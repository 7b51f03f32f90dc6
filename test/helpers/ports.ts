import { createServer } from 'node:net';

/** A loopback TCP port that was free a moment ago (for configs that need a fixed port, such as metrics.listen). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
