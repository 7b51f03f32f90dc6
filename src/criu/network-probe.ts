// `remusd check`'s proof that network workloads can be checkpointed here: a real dump of a throwaway
// process that holds a listening and an established TCP socket in a throwaway network namespace, with
// the options a real network workload gets (src/criu/network.ts). Cleaned up whatever happens.

import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNamespace } from '../net/enter.js';
import { createNamespace, deleteNamespace, processNamespaceInode } from '../net/namespace.js';
import { isAlive } from '../process/proc.js';
import { startSessionLeader } from '../process/session-leader.js';
import { ensureTcpHolderBinary } from '../workload/build.js';
import { dump } from './dump.js';
import { criuLogTail, describeCriuEnd } from './exec.js';
import type { CriuLocation } from './locate.js';
import { networkDumpArgs } from './network.js';

/** Whether a process with TCP sockets in its own network namespace can be dumped here. */
export interface NetworkCapability {
  available: boolean;
  /** What was tried and what happened. */
  detail: string;
  /** When not available: what to do. */
  fix?: string;
  /** When CRIU failed: its own error lines. */
  criuError?: string;
  /** The probe dump's wall time. */
  dumpMs?: number;
}

// Failures with a known cause, recognized by CRIU's own words.
const KNOWN_FAILURES: { pattern: RegExp; why: (version: string) => string; fix: string }[] = [
  {
    pattern: /Can't get 1:16 opt/,
    why: (version) =>
      `CRIU ${version} cannot dump INET sockets on Linux >= 6.16: it asks for SO_PASSCRED (option 1:16), which these ` +
      'kernels refuse for non-unix sockets ("Can\'t get 1:16 opt: Operation not supported"; fixed in CRIU 4.2)',
    fix: 'run scripts/install-criu.sh as root: it installs CRIU 4.2 into /opt/remusd/criu, which remusd then uses',
  },
  {
    pattern: /nftables|nft_/i,
    why: () => 'CRIU could not lock the network with nftables',
    fix: 'use a CRIU built with libnftables (scripts/install-criu.sh installs one); `criu check --feature network-lock-nftables` tells',
  },
];

// A CRIU that logged its error but does not exit is stopped after this grace: CRIU 4.1.1 on Linux 6.18
// hangs in wait4() while curing the parasite after a failed socket dump (seen here: 15 s and counting).
const GRACE_AFTER_ERROR_MS = 2000;

/** Dumps a throwaway TCP holder in a throwaway namespace with CRIU and reports whether that works here. */
export async function probeNetworkDump(
  criu: CriuLocation,
  criuVersion: string | undefined,
  timeoutMs = 30_000,
): Promise<NetworkCapability> {
  const dir = await mkdtemp(join(tmpdir(), 'remusd-check-'));
  const namespace = `remusd-check-${process.pid}`;
  let pid: number | undefined;
  try {
    let binary: string;
    try {
      binary = await ensureTcpHolderBinary();
    } catch (error) {
      return {
        available: false,
        detail: `the probe could not be built: ${error instanceof Error ? error.message : String(error)}`,
        fix: 'install a C compiler (apt-get install gcc libc6-dev)',
      };
    }
    await createNamespace(namespace);
    const output = join(dir, 'holder.out');
    const { command, args } = inNamespace(namespace, binary, []);
    pid = startSessionLeader(command, args, output).pid;
    const ready = await waitForLine(output, /^ready port=\d+/m, 5000);
    if (!ready)
      return {
        available: false,
        detail: `the probe process did not start: ${(await readText(output)).trim() || 'no output in 5 s'}`,
      };
    const inode = await processNamespaceInode(pid);
    if (inode === undefined) return { available: false, detail: 'the probe process vanished before the dump' };

    const imagesDir = join(dir, 'images');
    await mkdir(imagesDir);
    const stop = new AbortController();
    const watch = watchForError(join(imagesDir, 'criu.log'), stop);
    const run = await dump(criu, {
      kind: 'full',
      pid,
      imagesDir,
      extraArgs: networkDumpArgs(inode),
      timeoutMs,
      signal: stop.signal,
    }).finally(() => watch.stop());
    const what =
      'criu dump --leave-running --tcp-established --network-lock nftables --external net[…] of a process with a listening and an established TCP socket in its own network namespace';
    if (run.exitCode !== 0) {
      const criuError = await criuLogTail(run.logFile, 6);
      const known = KNOWN_FAILURES.find((failure) => failure.pattern.test(criuError));
      return {
        available: false,
        detail: known ? known.why(criuVersion ?? '(unknown version)') : `${what} failed: CRIU ${describeCriuEnd(run)}`,
        fix: known?.fix ?? 'run scripts/install-criu.sh as root (CRIU 4.2); see criu_error for what CRIU said',
        criuError,
        dumpMs: Math.round(run.wallMs),
      };
    }
    // --leave-running: the holder must still exchange data over its connection after the dump.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await readText(output);
    if (!(await isAlive(pid)) || after.includes('broken')) {
      return {
        available: false,
        detail: `the dump succeeded but left the connection broken: ${after.trim()}`,
        fix: "report this with CRIU's log; network workloads would lose their connections",
      };
    }
    return { available: true, detail: `${what}: ok, and the connection kept working`, dumpMs: Math.round(run.wallMs) };
  } finally {
    if (pid !== undefined && pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await deleteNamespace(namespace).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

// Aborts the run once CRIU's log has an error (other than the rlimit notice) and CRIU has not exited after a grace.
function watchForError(logFile: string, stop: AbortController): { stop(): void } {
  let grace: NodeJS.Timeout | undefined;
  const poll = setInterval(() => {
    void readText(logFile).then((text) => {
      const failed = text.split('\n').some((line) => /(^|\) )Error \(/.test(line) && !line.includes('RLIMIT_NOFILE'));
      if (failed && grace === undefined) grace = setTimeout(() => stop.abort(), GRACE_AFTER_ERROR_MS);
    });
  }, 100);
  return {
    stop() {
      clearInterval(poll);
      clearTimeout(grace);
    },
  };
}

async function waitForLine(path: string, pattern: RegExp, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pattern.test(await readText(path))) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}
