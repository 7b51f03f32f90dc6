// The supervisor's side of compaction while `remusd ship` is behind (src/store/shipped-compaction.ts has the
// rule): asks where the backup stands only when a compaction is due, and says what it chose. A log line per
// compaction moved or forced (one per ~13 checkpoints at most, like the "compacted" line); one when waiting begins.

import type { StoredCheckpoint } from '../store/chain.js';
import type { LoopCycle } from './cycle.js';
import type { SupervisorEvents } from './supervisor-deps.js';

export class CompactionForBackup {
  #waiting = false;

  constructor(
    private readonly backupHolds: () => number | undefined,
    private readonly events: SupervisorEvents,
  ) {}

  /** The link to flatten now instead of `usual` (nextCompaction's pick), or undefined to wait. */
  choose(cycle: LoopCycle, usual: StoredCheckpoint): StoredCheckpoint | undefined {
    const holds = this.backupHolds();
    if (holds === undefined) return usual;
    const choice = cycle.compactionForBackup(usual, holds);
    const waited = this.#waiting;
    this.#waiting = choice.why === 'waits';
    if (choice.why === 'shipped')
      this.events.info?.(
        `compacting ${choice.link.name}, the newest link the backup holds (${usual.name} is not shipped yet)`,
        { checkpoint: choice.link.name, instead_of: usual.name },
      );
    else if (choice.why === 'waits' && !waited)
      this.events.info?.(
        `compaction waits for the backup: it holds nothing newer than this chain's base (${checkpointLabel(holds)})`,
        { backup_holds: holds },
      );
    else if (choice.why === 'bound')
      this.events.warn(
        `compacting ${usual.name} before the backup has it: the chain nears new_chain_every and the backup holds up to ${checkpointLabel(holds)}; it will be sent this link's flattened base in full`,
        { checkpoint: usual.name, backup_holds: holds },
      );
    return choice.link;
  }
}

function checkpointLabel(seq: number): string {
  return seq === 0 ? 'none of this run' : `seq ${seq}`;
}
