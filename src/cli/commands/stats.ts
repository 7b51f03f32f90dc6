import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { readParentLink } from '../../fs/parent-link.js';
import { fileKind } from '../../fs/regular-file.js';
import { readStatsDir } from '../../criu/images/index.js';
import { pageSize as machinePageSize } from '../../criu/probe.js';
import { checkpointSizeBytes, type DumpStats, type RestoreStats } from '../../model/stats.js';
import { UserError } from '../errors.js';
import { countOption } from '../options.js';
import { table } from '../format.js';
import { printJson } from '../json.js';
import { writeStdout } from '../stdout.js';

/** `remusd stats DIR`: decodes a checkpoint's stats-dump and stats-restore. */
export const statsCommand = defineCommand({
  command: 'stats <dir>',
  describe: "Decode a CRIU images directory's stats-dump and stats-restore",
  builder: (yargs: Argv) =>
    yargs
      .positional('dir', { type: 'string', demandOption: true, describe: 'CRIU images (or work) directory' })
      .option('json', { type: 'boolean', default: false, describe: "Print podman's --print-stats shape as JSON" })
      .option('page-size', {
        type: 'string',
        coerce: countOption('page-size'),
        describe: "Page size for checkpoint_size_bytes (default: this machine's)",
      })
      .example('$0 stats /var/lib/remusd/images/latest --json', ''),
  handler: async (args) => {
    await mustBeDirectory(args.dir);
    const { dump, restore } = await readStatsDir(args.dir);
    if (dump === undefined && restore === undefined) {
      throw new UserError(
        `${args.dir}: no stats-dump or stats-restore here (CRIU writes them into the work dir after a successful dump or restore)`,
      );
    }
    const size = args.pageSize ?? (await machinePageSize());
    const stored = await storedPages(args.dir);
    if (args.json) printJson({ ...statsJson(dump, restore, size), ...(stored === undefined ? {} : { stored }) });
    else writeStdout(`${humanStats(dump, restore, size)}${stored === undefined ? '' : `\n${humanStored(stored)}`}\n`);
  },
});

async function mustBeDirectory(dir: string): Promise<void> {
  const stats = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(
      error.code === 'ENOENT' ? `${dir}: no such directory` : `${dir}: cannot read (${error.code ?? error.message})`,
    );
  });
  if (!stats.isDirectory())
    throw new UserError(`${dir} is ${fileKind(stats)}, not a directory; give the checkpoint's images directory`);
}

/** What the directory really stores: after a delta rewrite, far less than CRIU's stats-dump counted. */
export interface StoredPages {
  /** Bytes of page data in pages-*.img (only the changed pages, in a delta or incremental checkpoint). */
  pagesBytes: number;
  /** The parent checkpoint the rest of the pages come from (the `parent` link, ../NAME), or null for a full one. */
  parent: string | null;
}

async function storedPages(dir: string): Promise<StoredPages | undefined> {
  const pages = (await readdir(dir)).filter((name) => /^pages-\d+\.img$/.test(name));
  if (pages.length === 0) return undefined;
  let pagesBytes = 0;
  for (const name of pages) pagesBytes += (await stat(join(dir, name))).size;
  // A link that leaves the directory's store is refused (ParentLinkError, exit 1), not shown as a parent.
  const parent = await readParentLink(dir);
  return { pagesBytes, parent: parent === undefined ? null : `../${parent}` };
}

function humanStored(stored: StoredPages): string {
  const mib = (stored.pagesBytes / 2 ** 20).toFixed(2);
  return table([
    ['stored', ''],
    ['  pages-*.img', `${mib} MiB (${stored.pagesBytes} bytes)`],
    [
      '  parent',
      stored.parent === null
        ? 'none (a full checkpoint)'
        : `${stored.parent} (the pages CRIU counted but this directory does not hold come from there)`,
    ],
  ]);
}

/** The podman --print-stats shape, plus every other field CRIU wrote and the derived checkpoint size. */
export function statsJson(
  dump: DumpStats | undefined,
  restore: RestoreStats | undefined,
  pageSize: number,
): Record<string, unknown> {
  return {
    criu_statistics: { ...dump, ...restore },
    ...(dump === undefined ? {} : { checkpoint_size_bytes: checkpointSizeBytes(dump, pageSize) }),
    page_size: pageSize,
  };
}

const ms = (us: number | undefined) => (us === undefined ? '-' : `${(us / 1000).toFixed(3)} ms`);
const pages = (n: number | undefined, size: number) =>
  n === undefined ? '-' : `${n} pages (${((n * size) / 2 ** 20).toFixed(2)} MiB)`;

function humanStats(dump: DumpStats | undefined, restore: RestoreStats | undefined, size: number): string {
  const rows: string[][] = [];
  if (dump !== undefined) {
    rows.push(
      ['dump', ''],
      ['  freezing_time', ms(dump.freezing_time)],
      ['  frozen_time', ms(dump.frozen_time)],
      ['  memdump_time', ms(dump.memdump_time)],
      ['  memwrite_time', ms(dump.memwrite_time)],
      ['  pages_scanned', pages(dump.pages_scanned, size)],
      ['  pages_skipped_parent', pages(dump.pages_skipped_parent, size)],
      ['  pages_written', pages(dump.pages_written, size)],
    );
    for (const key of ['pages_lazy', 'page_pipes', 'page_pipe_bufs', 'irmap_resolve'] as const) {
      if (dump[key] !== undefined) rows.push([`  ${key}`, String(dump[key])]);
    }
    for (const key of ['shpages_scanned', 'shpages_skipped_parent', 'shpages_written'] as const) {
      if (dump[key] !== undefined) rows.push([`  ${key}`, pages(dump[key], size)]);
    }
    rows.push([
      '  checkpoint size (CRIU)',
      `${(checkpointSizeBytes(dump, size) / 2 ** 20).toFixed(2)} MiB (${checkpointSizeBytes(dump, size)} bytes)`,
    ]);
  }
  if (restore !== undefined) {
    rows.push(
      ['restore', ''],
      ['  forking_time', ms(restore.forking_time)],
      ['  restore_time', ms(restore.restore_time)],
      ['  pages_compared', pages(restore.pages_compared, size)],
      ['  pages_skipped_cow', pages(restore.pages_skipped_cow, size)],
      ['  pages_restored', pages(restore.pages_restored, size)],
    );
  }
  return table(rows);
}
