// The supervisor's own cost, measured on the real CLI supervising the bundled workload with real CRIU:
// time per checkpoint outside CRIU (beside CRIU's own wall time, same run) and the remusd process's peak
// RSS (beside an idle `node` process's, same run).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { median } from 'simple-statistics';
import type { CheckpointRecord } from '../model/record.js';
import { packageRoot } from '../paths.js';
import { ensureDirtierBinary } from '../workload/build.js';
import { compareRow, type BenchRow } from './harness.js';

const CHECKPOINTS = 60;

// Peak resident set (VmHWM) of a process, in MiB.
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
  return kib / 1024;
}

export async function run(): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'remusd-bench-'));
  try {
    const binary = await ensureDirtierBinary();
    const config = join(dir, 'bench.yaml');
    await writeFile(
      config,
      'interval: { initial: 100ms, min: 100ms, max: 100ms }\npolicy: { kind: fixed }\ncheckpoint: { mode: full, dir: ./images, retention: { keep: 3 } }\n',
    );
    const cli = join(packageRoot(), 'dist', 'cli', 'main.js');
    // The baseline process: node with nothing loaded, alive long enough to read its RSS.
    const idle = execa('node', ['-e', 'setTimeout(() => {}, 3000)'], { reject: false });
    const supervisor = execa(
      cli,
      [
        'run',
        '--config',
        config,
        '--max-checkpoints',
        String(CHECKPOINTS),
        '--stop-workload',
        '--',
        binary,
        '--mib',
        '64',
        '--phases',
        '2000:1000000',
      ],
      { reject: false },
    );
    let peak = 0;
    const sampler = setInterval(() => {
      // No pid only when the spawn failed, which awaiting the supervisor below reports.
      if (supervisor.pid !== undefined)
        peakRssMiB(supervisor.pid).then(
          (mib) => (peak = Math.max(peak, mib)),
          () => undefined,
        );
    }, 50);
    let idleRss: number;
    let result: Awaited<typeof supervisor>;
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (idle.pid === undefined) throw new Error('could not start node for the baseline RSS');
      idleRss = await peakRssMiB(idle.pid);
      result = await supervisor;
    } finally {
      // Also when reading the idle process's RSS failed: neither the sampler nor the two processes outlive the bench.
      clearInterval(sampler);
      idle.kill();
      supervisor.kill();
    }
    if (result.exitCode !== 0) throw new Error(`remusd run failed (${result.exitCode}): ${result.stderr.slice(-2000)}`);
    const records = (await readFile(join(dir, 'images', 'records.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      // Written seconds ago by the remusd run this bench started; the record reader would drop the
      // supervisor_overhead_ms this bench is about.
      .map((line): CheckpointRecord => JSON.parse(line))
      .slice(5); // the first checkpoints include start-up (JIT, first CRIU runs)
    const overhead = median(records.map((r) => r.supervisor_overhead_ms));
    const criuWall = median(records.map((r) => r.criu_wall_ms));
    return [
      compareRow({
        bench: 'supervisor',
        name: `own time per checkpoint (median of ${records.length}, 64 MiB workload, mode full)`,
        unit: 'ms',
        value: overhead,
        baseline: { name: 'CRIU wall time', value: criuWall },
        target: { text: '< 5 ms', max: 5 },
      }),
      {
        bench: 'supervisor',
        name: 'own time as a share of CRIU wall time',
        unit: '%',
        value: (100 * overhead) / criuWall,
        target: '< 2 %',
        pass: (100 * overhead) / criuWall < 2,
      },
      compareRow({
        bench: 'supervisor',
        name: 'remusd peak RSS (VmHWM) while supervising',
        unit: 'MiB',
        value: peak,
        baseline: { name: 'idle node process', value: idleRss },
        target: { text: '< 80 MB (76.3 MiB)', max: 80e6 / 2 ** 20 },
      }),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
