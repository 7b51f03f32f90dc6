import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { AtomicWriteError, writeJsonAtomically } from '../../src/fs/atomic-file.js';
import { packageRoot } from '../../src/paths.js';
import { writePidFile } from '../../src/process/pid-file.js';
import { writeBackupRun } from '../../src/replicate/backup-runs.js';
import { FAILOVER_REPORT, previousFailover, writeFailoverReport } from '../../src/replicate/failover-report.js';
import { newRunIdentity, RUN_FILE, writeRunIdentity } from '../../src/store/run-identity.js';
import { imagesDir } from '../helpers/criu.js';
import { unwrittenPagesProbe } from '../helpers/dirty-pages.js';
import { sleep } from '../helpers/wait.js';

// The small JSON files remusd replaces (failover.json, a backup run's run.json, the images' run.json, a
// pidfile; fenced.json goes through the same writer) must be on disk when the write returns, and a reader
// must never see half of one: not after a crash, and not while two processes write the same file.

const writer = join(packageRoot(), 'test', 'fs', 'report-writer.mjs');

describe('writeJsonAtomically and the files written with it', () => {
  it('each file is on disk when its write returns (no page dirty or under writeback, by cachestat)', async () => {
    const unwritten = await unwrittenPagesProbe();
    const dir = await imagesDir('remusd-atomic-');
    // The control: a file written plainly a moment ago still has its page unwritten (dirty_expire is 30 s),
    // so a 0 below is the writer's fsync and not the kernel's own writeback.
    await writeFile(join(dir, 'plain.json'), '{"plain": true}\n');
    expect(unwritten([join(dir, 'plain.json')]), 'a plain write leaves its page unwritten').not.toEqual([0]);

    const run = newRunIdentity(new Date());
    const writes: [string, () => Promise<void>][] = [
      [FAILOVER_REPORT, () => writeFailoverReport(dir, { ok: true, reason: 'manual', message: 'm', triggered_at: '' })],
      [RUN_FILE, () => writeRunIdentity(dir, run)],
      [
        'runs-run.json',
        async () => writeBackupRun(await subdir(dir), { ...run, first_seen_at: run.started, newest: null }),
      ],
      ['workload.pid', () => writePidFile(join(dir, 'workload.pid'), process.pid)],
      ['any.json', () => writeJsonAtomically(join(dir, 'any.json'), { a: 1 }, { maxBytes: 100 })],
    ];
    const after: Record<string, number | undefined> = {};
    for (const [name, write] of writes) {
      await write();
      const path = name === 'runs-run.json' ? join(dir, 'sub', RUN_FILE) : join(dir, name);
      after[name] = unwritten([path])[0];
    }
    expect(after).toEqual(Object.fromEntries(writes.map(([name]) => [name, 0])));
  });

  it('two processes writing failover.json at once: every read sees one whole report', async () => {
    const dir = await imagesDir('remusd-atomic-');
    const writers = Promise.all(['a', 'b'].map((name) => execa('node', [writer, dir, name, '2'], { reject: false })));
    let done = false;
    void writers.finally(() => (done = true));
    let reads = 0;
    const unreadable: string[] = [];
    while (!done) {
      const previous = await previousFailover(dir);
      if (previous.state === 'unreadable') unreadable.push(previous.problem.slice(0, 200));
      reads++;
      await sleep(1);
    }
    const results = await writers;
    for (const result of results) expect(result.exitCode, result.stderr).toBe(0);
    const written = results.map((r) => Number(/wrote (\d+)$/.exec(r.stdout)?.[1]));
    console.log(`two writers: ${written.join(' + ')} reports written, ${reads} reads`);
    expect(Math.min(...written), 'both wrote many times while the other did').toBeGreaterThan(10);
    expect(unreadable, 'reads that saw a torn failover.json').toEqual([]);
    expect(await temporaries(dir)).toEqual([]);
  });

  it('a writer killed mid-way leaves the previous report readable', async () => {
    const dir = await imagesDir('remusd-atomic-');
    await writeFailoverReport(dir, {
      ok: true,
      reason: 'manual',
      message: 'first',
      triggered_at: '',
      checkpoint: 'v0',
    });
    const seen = new Set<string>();
    for (let round = 0; round < 5; round++) {
      const child = execa('node', [writer, dir, `k${round}`, '30'], { reject: false });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await sleep(5 + round * 37); // a different moment of the writes each round
      child.kill('SIGKILL');
      await child;
      const previous = await previousFailover(dir);
      expect(previous.state, JSON.stringify(previous).slice(0, 300)).toBe('recorded');
      const checkpoint = previous.state === 'recorded' ? previous.report.checkpoint : undefined;
      expect(checkpoint).toMatch(new RegExp(`^k${round}-\\d+$`));
      seen.add(checkpoint ?? '');
    }
    expect(seen.size).toBe(5);
    // What a killed writer leaves: at most its own hidden temporary file, never read as the report.
    expect((await temporaries(dir)).length).toBeLessThanOrEqual(5);
  });

  it('over its size bound: refused with the file named, nothing written, the old content kept', async () => {
    const dir = await imagesDir('remusd-atomic-');
    const path = join(dir, 'bounded.json');
    await writeJsonAtomically(path, { old: true }, { maxBytes: 64 });
    const refusal = await writeJsonAtomically(path, { big: 'x'.repeat(100) }, { maxBytes: 64 }).catch((e) => e);
    expect(refusal).toBeInstanceOf(AtomicWriteError);
    expect(refusal.message).toBe(`${path}: 111 bytes is over the 64 byte limit for this file; nothing was written`);
    expect(await readFile(path, 'utf8')).toBe('{"old":true}\n');
    expect(await temporaries(dir)).toEqual([]);
  });

  it('a directory that is not there: the error names the file and the cause', async () => {
    const path = join(await imagesDir('remusd-atomic-'), 'gone', 'x.json');
    await expect(writeJsonAtomically(path, {}, { maxBytes: 64 })).rejects.toThrow(
      `${path}: cannot be written (ENOENT)`,
    );
  });
});

async function subdir(dir: string): Promise<string> {
  await mkdir(join(dir, 'sub'), { recursive: true });
  return join(dir, 'sub');
}

async function temporaries(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.tmp'));
}
