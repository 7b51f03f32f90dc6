// Logs an operator can filter: fields, one line per checkpoint at debug, interval changes at info,
// --log-level/--log-format, and syslog priorities on each line when stderr is the journal.
import { describe, expect, it } from 'vitest';
import { fstatSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { journalStream, stderrIsJournal } from '../../src/cli/logger.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import { startWorkload } from '../helpers/workload.js';

describe('journal priorities', () => {
  it('prefix each JSON line with its syslog priority, so that journalctl -p warning finds warnings', () => {
    const lines: string[] = [];
    const log = pino(
      { level: 'debug' },
      journalStream((line) => lines.push(line)),
    );
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines.map((line) => line.slice(0, 3))).toEqual(['<7>', '<6>', '<4>', '<3>']);
    expect(JSON.parse(lines[2]!.slice(3)).msg).toBe('w');
  });

  it('are used only when JOURNAL_STREAM names this very stderr', () => {
    const stats = fstatSync(2, { bigint: true });
    expect(stderrIsJournal({ JOURNAL_STREAM: `${stats.dev}:${stats.ino}` })).toBe(true);
    expect(stderrIsJournal({ JOURNAL_STREAM: `${stats.dev}:${stats.ino + 1n}` })).toBe(false);
    expect(stderrIsJournal({})).toBe(false);
  });
});

describe('remusd run logs (real CRIU)', () => {
  it('--log-level debug gives a line per checkpoint with fields; interval changes are at info; --log-format journal prefixes', async () => {
    const workload = await startWorkload(['--mib', '4']);
    try {
      const dir = await imagesDir('remusd-logs-');
      // A full dump of 4 MiB is far above lmax 256KiB: the interval shrinks at once.
      const config = join(dir, 'remusd.yaml');
      // threshold halves the interval (predictive, the default, would aim straight at the band).
      await writeFile(
        config,
        'thresholds: { lmin: 64KiB, lmax: 256KiB }\ninterval: { initial: 400ms, min: 100ms, max: 1s }\npolicy: { kind: threshold }\ncheckpoint: { mode: full, dir: ./images }\n',
      );
      const run = await runCli([
        'run',
        '--config',
        config,
        '--pid',
        String(workload.pid),
        '--max-checkpoints',
        '3',
        '--log-level',
        'debug',
        '--log-format',
        'json',
      ]);
      expect(run.exitCode, run.stderr).toBe(0);
      const lines = run.stderr
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const perCheckpoint = lines.filter((line) => line.level === 20 && typeof line.seq === 'number');
      expect(perCheckpoint.map((line) => line.seq)).toEqual([1, 2, 3]);
      expect(perCheckpoint[0]).toMatchObject({
        mode: 'full',
        decision: 'shrink',
        interval_ms: 400,
        next_interval_ms: 200,
      });
      const changes = lines.filter((line) => line.level === 30 && typeof line.next_interval_ms === 'number');
      expect(changes[0]!.msg).toMatch(/^interval 400 ms → 200 ms \(shrink\): size .* > lmax/);

      const journal = await runCli([
        'run',
        '--config',
        config,
        '--pid',
        String(workload.pid),
        '--max-checkpoints',
        '1',
        '--log-format',
        'journal',
      ]);
      expect(journal.exitCode, journal.stderr).toBe(0);
      expect(
        journal.stderr
          .trim()
          .split('\n')
          .every((line) => /^<[2-7]>\{/.test(line)),
      ).toBe(true);
      const bad = await runCli(['run', '--log-level', 'loud', '--', 'true']);
      expect(bad.exitCode).toBe(2);
    } finally {
      await workload.stop();
    }
  });
});
