import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** A running /metrics endpoint. */
export interface MetricsServer {
  /** host:port it listens on. */
  address: string;
  close(): Promise<void>;
}

/** Serves a registry's metrics at http://host:port/metrics (everything else is 404). */
export async function serveRegistry(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end('see /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: Error) => response.writeHead(500).end(error.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = server.address();
  return {
    address: typeof bound === 'object' && bound !== null ? `${bound.address}:${bound.port}` : `${host}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
