// Every exit status remusd uses, in one table: the README's table, the systemd unit's
// RestartPreventExitStatus and the code all read from here.

/** remusd's exit statuses. */
export const EXIT = Object.freeze({
  /** Stopped on request, or the workload exited with 0. */
  ok: 0,
  /** An error the message explains (I/O, a failed restore, a peer that went away). */
  error: 1,
  /** Usage or config error: a bad option, a bad config file, a directory in use. Nothing was started. */
  usage: 2,
  /** CRIU cannot checkpoint here (missing, too old, a mode the kernel lacks). */
  criuUnavailable: 3,
  /** The supervised workload exited non-zero or was killed. */
  workloadFailed: 4,
  /** Too many CRIU failures in a row. */
  criuFailures: 5,
  /** The lease was lost while running: the workload was frozen or killed (fencing.on_fence). */
  fenced: 6,
  /** The lease could not be acquired at start (held by another host, or etcd unreachable): nothing was started. */
  noLease: 7,
  /** A failover refused: the primary released output (degraded) newer than any checkpoint here; nothing was restored. */
  staleRestore: 8,
  /** A bug in remusd: reported with its stack. */
  internal: 70,
  /** A second SIGINT/SIGTERM: exited at once. */
  interrupted: 130,
});

/** One of remusd's exit statuses. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
