// Moved to src/units/units.ts, the bottom layer (the policies format with it, so it cannot live in config/,
// which imports the policies). This re-export keeps the config and CLI files that other branches were
// editing at the time compiling unchanged; new code imports src/units/units.js.
export * from '../units/units.js';
