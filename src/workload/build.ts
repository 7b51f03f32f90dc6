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
  return ensureBundledBinary(streamSources('udp-stream.c'), 'remusd-udp-stream', cacheDir);
}

/** Compiles the bulk TCP sender and receiver (tcp-stream.c) of the gate's bench. */
export async function ensureTcpStreamBinary(cacheDir?: string): Promise<string> {
  return ensureBundledBinary(streamSources('tcp-stream.c'), 'remusd-tcp-stream', cacheDir);
}

// A stream program's source and the header both stream programs share.
function streamSources(file: string): string[] {
  return [file, 'stream-util.h'].map((name) => join(packageRoot(), 'src', 'workload', name));
}
