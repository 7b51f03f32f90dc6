// Hot reload: re-load the config when the file changes or when asked (the caller wires SIGHUP to reload()).
// Polling with fs.watchFile rather than fs.watch, because editors that save by writing a new file and
// renaming it over the old one leave an fs.watch handle watching the deleted inode; a stat poll sees
// the new file (new inode, new mtime) and keeps working.

import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { configFromText, readConfigText, type ConfigResult } from './load.js';

/** A running watch. */
export interface ConfigWatcher {
  /** Re-loads now (for SIGHUP), even if the file did not change; hands the result to onChange and returns it. */
  reload(): Promise<ConfigResult>;
  /** Stops polling; no onChange call happens after this returns. */
  close(): void;
}

/** Polling period: about half a second between polls. */
export const WATCH_INTERVAL_MS = 500;

/**
 * Calls onChange with a freshly loaded and validated result each time the file's content changes or
 * reload() is called. Results arrive in order, one load at a time. A change is loaded once the file has
 * stayed unchanged for two polling periods, so a save in several writes (truncate, then write) is read
 * whole rather than as an empty or half file, and a burst of writes gives one result. A change that
 * leaves the text as it was (touch, chmod) gives none. An error result (a typo, a deleted file) is handed
 * over like any other: the caller keeps its last good config. There is no initial load: call
 * loadConfigFile first. An exception thrown by onChange rejects that load's promise (unhandled, for
 * file changes, like an exception thrown from any event listener).
 */
export function watchConfig(
  path: string,
  onChange: (result: ConfigResult) => void,
  options: { intervalMs?: number } = {},
): ConfigWatcher {
  const intervalMs = options.intervalMs ?? WATCH_INTERVAL_MS;
  const baseDir = dirname(resolve(path));
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();
  let lastText: string | undefined;
  let quiet: NodeJS.Timeout | undefined;

  // One load at a time, in order: each waits for the one before (a failed one included).
  const enqueue = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work);
    queue = next.catch(() => undefined);
    return next;
  };
  // Validates what was read, hands the result over and returns it.
  const report = (read: Awaited<ReturnType<typeof readConfigText>>): ConfigResult => {
    lastText = read.ok ? read.text : undefined;
    const result = read.ok ? configFromText(read.text, path, baseDir) : read;
    if (!closed) onChange(result);
    return result;
  };
  const reload = () => enqueue(async () => report(await readConfigText(path)));
  // A file change whose text is what was loaded last gives no result.
  const loadChanged = () =>
    enqueue(async () => {
      const read = await readConfigText(path);
      if (!read.ok || read.text !== lastText) report(read);
    });

  // Stat changes that mean new content; an access (atime) alone does not.
  const listener = (current: Stats, previous: Stats) => {
    const changed =
      current.mtimeMs !== previous.mtimeMs ||
      current.ctimeMs !== previous.ctimeMs ||
      current.ino !== previous.ino ||
      current.size !== previous.size;
    if (!changed || closed) return;
    clearTimeout(quiet);
    quiet = setTimeout(() => void loadChanged(), 2 * intervalMs);
  };
  watchFile(path, { interval: intervalMs, persistent: true }, listener);

  return {
    reload,
    close() {
      closed = true;
      clearTimeout(quiet);
      unwatchFile(path, listener);
    },
  };
}
