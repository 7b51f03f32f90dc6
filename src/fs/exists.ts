// Whether a path is there, in the one sense each caller needs. Any error (ENOENT, EACCES on a parent
// directory, ELOOP…) counts as "no": these answer "may I use it", and the use itself reports a real error.
import { constants } from 'node:fs';
import { access, lstat } from 'node:fs/promises';

/**
 * Whether `path` exists. `links` says what counts for a symbolic link:
 * - 'link-itself': the directory entry (lstat), so a dangling link counts, e.g. CRIU's `parent` link in a
 *   dump whose parent directory is gone or not there yet;
 * - 'follow-links': what it resolves to (access F_OK), so a dangling link does not count, e.g. a file we
 *   are about to open or run.
 */
export async function exists(path: string, links: 'link-itself' | 'follow-links'): Promise<boolean> {
  return succeeds(links === 'link-itself' ? lstat(path) : access(path));
}

/** Whether `path` resolves to a file this process may execute (access X_OK, following links). */
export async function isExecutable(path: string): Promise<boolean> {
  return succeeds(access(path, constants.X_OK));
}

const succeeds = (check: Promise<unknown>): Promise<boolean> =>
  check.then(
    () => true,
    () => false,
  );
