// What a checkpoint costs, as affine functions of the pages it writes:
//   frozen time  = frozenBaseMs + frozenPerPageUs · pages
//   CRIU wall    = wallBaseMs   + wallPerPageUs   · pages
//
// The defaults are a least-squares fit to full dumps measured on this machine (CRIU 4.1.1, kernel 6.18,
// 2 cores, images in /tmp on ext4): `remusd run` in mode full, policy fixed at 1 s, 8 checkpoints each
// of the bundled dirtier with --mib 1, 16, 64 and 256. Medians (test/sim/fixtures/full-*mib.records.jsonl):
//
//   pages written   frozen    CRIU wall
//          283      5.2 ms     42.8 ms
//         4122     10.9 ms     47.5 ms
//        16410     29.2 ms     70.4 ms     (the demo's delta run: 26–31 ms frozen, 54–80 ms wall)
//        65561    113.2 ms    152.4 ms
//
// Fit: frozen ≈ 3.7 ms + 1.66 µs/page, wall ≈ 41.8 ms + 1.69 µs/page; rounded below. The wall base is
// CRIU's fixed work (starting, seizing the tree, the parasite, /proc, writing the image files); the frozen
// base is the part of it done with the tree frozen. In mode delta CRIU still dumps every page, so to model
// that mode give the whole memory's cost (perPage 0, base = the full dump's cost).

/** The coefficients of the cost model. */
export interface CostModel {
  frozenBaseMs: number;
  frozenPerPageUs: number;
  wallBaseMs: number;
  wallPerPageUs: number;
}

/** Fitted on this machine (see the file's comment). */
export const DEFAULT_COST: Readonly<CostModel> = Object.freeze({
  frozenBaseMs: 4,
  frozenPerPageUs: 1.65,
  wallBaseMs: 42,
  wallPerPageUs: 1.7,
});

/** What one checkpoint writing `pages` pages costs. */
export interface CheckpointCost {
  /** Workload frozen, µs (whole, as CRIU reports it). */
  frozenUs: number;
  /** CRIU's wall time, ms. */
  criuWallMs: number;
}

/** The modelled cost of a checkpoint writing `pages` pages. */
export function checkpointCost(model: CostModel, pages: number): CheckpointCost {
  return {
    frozenUs: Math.round(model.frozenBaseMs * 1000 + model.frozenPerPageUs * pages),
    criuWallMs: model.wallBaseMs + (model.wallPerPageUs * pages) / 1000,
  };
}

/** Throws a RangeError for a negative or non-finite coefficient. */
export function validateCost(model: CostModel): CostModel {
  for (const [key, value] of Object.entries(model)) {
    if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`cost ${key} = ${value} must be a finite number ≥ 0`);
  }
  return model;
}
