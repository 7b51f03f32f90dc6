// The shipper's side of IMAGES/shipped.json (src/store/shipped-mark.ts): after each acknowledgement, the
// checkpoint the backup now holds with its whole chain, for the supervisor's compaction. Writes go one after
// another in the order of the acknowledgements; one that fails is said once (per distinct problem) and never
// stops shipping: the mark is advice.

import { readShippedMark, writeShippedMark } from '../store/shipped-mark.js';
import { errorMessage } from '../fs/error-code.js';

export class ShippedMarkWriter {
  #tail: Promise<void> = Promise.resolve();
  #reported: string | undefined;

  constructor(
    private readonly images: string,
    private readonly warn: (message: string) => void,
  ) {}

  /**
   * A shipper of `run` starts: until its first acknowledgement, the backup may hold nothing of the run, so a
   * mark of another run (or none) becomes "nothing yet" (00000000). Without it, the supervisor's compaction
   * would flatten the links a starting shipper is about to send (measured: a 32 MiB base sent in full).
   * A mark of this run is kept: the backup had those checkpoints, and keeps them across our restart.
   */
  begin(run: string): Promise<void> {
    let current: string | undefined;
    try {
      current = readShippedMark(this.images)?.run;
    } catch {
      current = undefined; // damaged: rewritten below
    }
    return current === run ? this.#tail : this.note(run, NOTHING_YET);
  }

  /** Records that the backup acknowledged `name` of `run`; resolves once written (or given up). */
  note(run: string, name: string): Promise<void> {
    const at = new Date();
    this.#tail = this.#tail.then(() =>
      writeShippedMark(this.images, run, name, at).then(
        () => void (this.#reported = undefined),
        (error: unknown) => {
          const problem = errorMessage(error);
          if (problem !== this.#reported)
            this.warn(`${problem}; the supervisor's compaction will not know what the backup holds`);
          this.#reported = problem;
        },
      ),
    );
    return this.#tail;
  }
}

/** The name of no checkpoint: the mark of a run the backup holds nothing of yet. */
const NOTHING_YET = '00000000';
