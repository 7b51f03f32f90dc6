// How much of issue 11's compare workload any policy could keep in band: two policies that know more than
// a real one can, run on the same seeded workloads as `remusd compare` (build first: npm run build).
//   rate now   knows the base rate at each decision exactly (a perfect, instant estimate), not the future
//   schedule   knows the base rate schedule, future steps included (it never straddles a step blindly)
// Neither knows the noise or the bursts. Chain starts (every 20th) and the first 3 are not counted, as in
// src/sim/scorecard.ts. Usage: node scripts/policy-ceiling.mjs [--no-bursts] [--target PAGES]
import { createWorkload } from '../dist/sim/workload.js';
import { rateAt, scheduleOfPhases, writesBetween } from '../dist/sim/rate.js';

const args = process.argv.slice(2);
const bursts = args.includes('--no-bursts') ? undefined : { pagesPerSecond: 4000, durationMs: 200, everyMs: 10_000 };
const targetAt = args.indexOf('--target');
// Band [1, 4] MiB in 4 KiB pages, interval [200 ms, 8 s]; the target is the geometric middle, 2 MiB.
const band = { lmin: 256, lmax: 1024, minMs: 200, maxMs: 8000 };
const target = targetAt >= 0 ? Number(args[targetAt + 1]) : 512;
const schedule = scheduleOfPhases(
  [
    { pagesPerSecond: 2000, durationMs: 20_000 },
    { pagesPerSecond: 200, durationMs: 20_000 },
  ],
  true,
);
const clamp = (ms) => Math.min(band.maxMs, Math.max(band.minMs, ms));

const oracles = {
  'rate now': (t) => clamp(Math.round(target / rateAt(schedule, t))),
  schedule: (t) => {
    let lo = band.minMs;
    let hi = band.maxMs;
    if (writesBetween(schedule, t, t + lo) >= target) return lo;
    if (writesBetween(schedule, t, t + hi) <= target) return hi;
    for (let k = 0; k < 40; k++) {
      const mid = (lo + hi) / 2;
      if (writesBetween(schedule, t, t + mid) < target) lo = mid;
      else hi = mid;
    }
    return Math.round(hi);
  },
};

for (const [name, choose] of Object.entries(oracles)) {
  let measured = 0;
  let inBand = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const workload = createWorkload({ schedule, workingSetPages: 16_384, noise: 0.2, bursts, seed });
    for (let t = 0, i = 1; t < 600_000; i++) {
      const ms = choose(t);
      const pages = workload.pages(t, t + ms);
      if (i > 3 && i % 20 !== 1) {
        measured += 1;
        if (pages >= band.lmin && pages <= band.lmax) inBand += 1;
      }
      t += ms;
    }
  }
  process.stdout.write(
    `${name.padEnd(9)} ${((100 * inBand) / measured).toFixed(1)}% in band (${measured} measured checkpoints)\n`,
  );
}
