// What `remusd run` tells its loop about the backup: the newest checkpoint `remusd ship` last heard it
// acknowledge (IMAGES/shipped.json), for compaction to flatten only links the backup holds
// (src/store/shipped-compaction.ts). Read when a compaction is due, never trusted for more than that advice.

import { readRunIdentity } from '../../store/run-identity.js';
import { readShippedMark } from '../../store/shipped-mark.js';
import { errorMessage } from '../../fs/error-code.js';

/**
 * Reads the mark of ROOT's run: its seq, or undefined when there is none, it is another run's (a shipper of an
 * earlier run), or it cannot be read (said once per distinct problem: compaction then does not wait).
 */
export function backupHoldsReader(root: string, warn: (message: string) => void): () => number | undefined {
  let run: string | undefined;
  let reported: string | undefined;
  return () => {
    try {
      // The run is opened before the first checkpoint and never changes under a running supervisor.
      run ??= readRunIdentity(root)?.id;
      const mark = readShippedMark(root);
      reported = undefined;
      return mark === undefined || mark.run !== run ? undefined : Number(mark.name);
    } catch (error) {
      const problem = errorMessage(error);
      if (problem !== reported) warn(`${problem}: compaction does not wait for the backup while it is so`);
      reported = problem;
      return undefined;
    }
  };
}
