// The demo's workload, in one place: `remusd demo` runs it for real (the bundled dirtier) and `remusd simulate`
// and `remusd compare` model it by default. Three phases of 10 s in a 64 MiB buffer: a burst of writes
// (8000 pages/s, ~31 MiB/s), a quiet spell (~0.8 MiB/s), a moderate load (~6 MiB/s).

/** The phases, RATE:SECONDS in pages per second, as both the dirtier's --phases and the simulator take them. */
export const DEMO_PHASES = '8000:10,200:10,1500:10';

/** The buffer the workload writes into, MiB: the simulator's working set. */
export const DEMO_MIB = 64;
