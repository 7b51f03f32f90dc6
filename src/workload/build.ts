import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { ensureBundledBinary } from '../process/compile.js';

/** Compiles the bundled workload (dirtier.c) once per source version and returns the binary's path. */
export async function ensureDirtierBinary(cacheDir?: string): Promise<string> {
  return ensureBundledBinary(join(packageRoot(), 'src', 'workload', 'dirtier.c'), 'remusd-dirtier', cacheDir);
}

/** Compiles the network check's throwaway workload (tcp-holder.c) and returns the binary's path. */
export async function ensureTcpHolderBinary(cacheDir?: string): Promise<string> {
  return ensureBundledBinary(join(packageRoot(), 'src', 'workload', 'tcp-holder.c'), 'remusd-tcp-holder', cacheDir);
}

/** Compiles the numbered-UDP sender and receiver (udp-stream.c) of the gate's bench and lossless-lock test. */
export async function ensureUdpStreamBinary(cacheDir?: string): Promise<string> {
  return ensureBundledBinary(join(packageRoot(), 'src', 'workload', 'udp-stream.c'), 'remusd-udp-stream', cacheDir);
}
