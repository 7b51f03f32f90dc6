// stdout as a consumer may close it: `remusd demo | head -1` closes the pipe after one line. Node then
// reports EPIPE on the next write as an 'error' event, which (unhandled) printed a stack, exited 1 and left
// the demo's workload running. Here it becomes a stop request: commands that run something stop it cleanly.

const closed = new AbortController();

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') closed.abort();
  else throw error;
});

/** Aborts when whoever reads stdout has gone away (EPIPE); later writes are dropped. */
export const stdoutClosed: AbortSignal = closed.signal;

/** Writes to stdout unless its reader has gone away. */
export function writeStdout(text: string): void {
  if (!closed.signal.aborted) process.stdout.write(text);
}
