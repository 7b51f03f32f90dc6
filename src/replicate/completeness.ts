import { chainOf, type StoredCheckpoint } from '../store/chain.js';
import { checkpointName } from '../store/checkpoints.js';

// A checkpoint in delta or dump mode holds only changed pages: it restores only if every ancestor its
// parent links reach is present. "Complete" here means exactly that, down to a link with no parent.

/** Why the chain ending at seq cannot be restored (the first missing ancestor), or undefined if it can. */
export function chainProblem(checkpoints: readonly StoredCheckpoint[], seq: number): string | undefined {
  const chain = chainOf(checkpoints, seq);
  const oldest = chain.at(-1);
  if (oldest === undefined) return `${checkpointName(seq)} is not here`;
  if (oldest.parentSeq === undefined) return undefined;
  if (chain.some((c) => c.seq === oldest.parentSeq)) return `the parent links of ${checkpointName(seq)} form a cycle`;
  return `${oldest.name} needs its parent ${checkpointName(oldest.parentSeq)}, which is missing`;
}

/** The names of the checkpoints whose whole chain is present. */
export function completeNames(checkpoints: readonly StoredCheckpoint[]): string[] {
  return checkpoints.filter((c) => chainProblem(checkpoints, c.seq) === undefined).map((c) => c.name);
}
