import { createReadStream, type Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decodePagemap, PE_PARENT, presentPages, readImageBytes, readInventoryFile } from '../criu/images/index.js';
import { COMPLETE } from '../store/checkpoints.js';
import { readManifest } from './backup-runs.js';
import { createFileHasher } from '../store/manifest.js';
import { DATA_CHUNK_BYTES } from './protocol.js';
import { MANIFEST_FILE, type Manifest } from './messages.js';
import { errorMessage } from '../fs/error-code.js';
import { ParentLinkError, readParentLink } from '../fs/parent-link.js';

// Before a restore, every link of the chain is checked again, on disk, right now: what landed may have
// been damaged since (a disk, a person, an attacker with write access to the directory), and CRIU trusts
// its images completely. Seen before these checks: 256 KiB flipped in a base pages image restored "fine"
// into a corrupt process, and a truncated pages image made CRIU's restorer spin forever.
//
// Each link must:
//   - have its manifest (remusd-manifest.json), of this run and this name;
//   - hold exactly the manifest's files, each a regular file of the listed size and xxh64 (a few files
//     CRIU itself writes on a restore are allowed beside them);
//   - have a `parent` link exactly when the manifest names a parent, reading exactly ../NNNNNNNN, to a
//     checkpoint directory present in the same run directory (so no link escapes the run);
//   - decode with remusd's own image decoders: inventory.img, and every pagemap, whose present pages fill
//     its pages image exactly (pages × page size = the image's size), and which keeps pages in a parent
//     only if there is one.
// A plain images directory (no manifests: `failover --dir` on a primary's own directory) gets every check
// but the hashes, and says so.

/** Files a restore writes into the images directory: present after an earlier attempt, never read by CRIU. */
const RESTORE_OUTPUTS = new Set(['restore.log', 'restore.log.out', 'stats-restore']);
const PAGEMAP = /^pagemap-.+\.img$/;

/** What is known of one link once it verified: its parent, if any. */
type LinkCheck = { ok: true; parent: string | null } | { ok: false; problem: string };

/** How a directory's checkpoints are verified: against manifests of `run`, or (a plain images directory) without. */
export interface VerifyContext {
  runDir: string;
  /** The run the manifests must name; undefined for a plain images directory, which has no manifests. */
  run: string | undefined;
  pageSize: number;
  /** Links verified already (a chain's ancestors are shared by its descendants): name → result. */
  memo?: Map<string, Promise<LinkCheck>>;
}

/**
 * Verifies the chain ending at `name`, newest first; returns its links, or the first problem found (which
 * names the file).
 */
export async function verifyChain(
  context: VerifyContext,
  name: string,
): Promise<{ ok: true; links: string[] } | { ok: false; problem: string }> {
  const memo = (context.memo ??= new Map());
  const links: string[] = [];
  for (let current: string | null = name; current !== null;) {
    let check = memo.get(current);
    if (check === undefined) {
      check = verifyLink(context, current);
      memo.set(current, check);
    }
    const result = await check;
    if (!result.ok) return result;
    links.push(current);
    current = result.parent;
  }
  return { ok: true, links };
}

async function verifyLink(context: VerifyContext, name: string): Promise<LinkCheck> {
  try {
    return await checkLink(context, name);
  } catch (error) {
    return { ok: false, problem: errorMessage(error) };
  }
}

// Throws an Error whose message names the file and what is wrong with it.
async function checkLink({ runDir, run, pageSize }: VerifyContext, name: string): Promise<LinkCheck> {
  const dir = join(runDir, name);
  const fail = (file: string, problem: string): never => {
    throw new Error(`${join(dir, file)}: ${problem}`);
  };
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) =>
    fail('', `cannot list the checkpoint (${error.code ?? error.message})`),
  );
  const manifest = run === undefined ? undefined : readManifest(dir);
  if (manifest !== undefined && manifest.run !== run)
    fail(MANIFEST_FILE, `belongs to run ${manifest.run}, not to run ${run} whose directory holds it`);
  if (manifest !== undefined && manifest.name !== name)
    fail(MANIFEST_FILE, `describes checkpoint ${manifest.name}, not ${name}`);

  const files = manifest?.files ?? (await plainFiles(entries, dir));
  if (manifest !== undefined) checkListing(entries, manifest, fail);
  const parent = await checkParentLink(runDir, dir, entries, manifest, fail);
  if (manifest !== undefined) {
    for (const file of manifest.files) await checkFile(dir, file, fail);
  }
  await checkStructure(dir, new Map(files.map((f) => [f.name, f.size])), parent !== null, pageSize, fail);
  return { ok: true, parent };
}

// Every entry of the directory is a file of the manifest, the manifest itself, the parent link or a restore's output.
function checkListing(entries: Dirent[], manifest: Manifest, fail: (file: string, problem: string) => never): void {
  const listed = new Set(manifest.files.map((f) => f.name));
  for (const entry of entries) {
    if (entry.name === 'parent' || entry.name === MANIFEST_FILE || RESTORE_OUTPUTS.has(entry.name)) continue;
    if (!listed.has(entry.name)) fail(entry.name, 'is not in the manifest (CRIU would read whatever is here)');
    if (!entry.isFile()) fail(entry.name, 'is not a regular file');
  }
}

// The parent link: present exactly when the manifest names a parent, reading exactly ../NNNNNNNN, to a
// checkpoint directory (not a link) of the same run directory. Returns the parent's name.
async function checkParentLink(
  runDir: string,
  dir: string,
  entries: Dirent[],
  manifest: Manifest | undefined,
  fail: (file: string, problem: string) => never,
): Promise<string | null> {
  const link = entries.find((e) => e.name === 'parent');
  if (link === undefined) {
    if (manifest?.parent) fail('parent', `missing: the manifest names parent ${manifest.parent}`);
    return null;
  }
  if (!link.isSymbolicLink()) fail('parent', 'is not a symbolic link');
  // Out of the run directory (../.., an absolute path, …): refused before anything below looks there.
  const parent = await readParentLink(dir).catch((error: unknown) =>
    fail('parent', error instanceof ParentLinkError ? error.reason : errorMessage(error)),
  );
  if (parent === undefined) return fail('parent', 'vanished while verified');
  const target = `../${parent}`;
  const expected = manifest === undefined ? undefined : manifest.parent;
  if (expected === null) fail('parent', `points at ${JSON.stringify(target)}, but the manifest names no parent`);
  if (!COMPLETE.test(parent))
    return fail(
      'parent',
      `points at ${JSON.stringify(target)}: a parent must be ../NNNNNNNN, a checkpoint of the same run`,
    );
  if (expected !== undefined && parent !== expected)
    fail('parent', `points at ${JSON.stringify(target)}, the manifest names parent ${expected}`);
  const stat = await lstat(join(runDir, parent)).catch(() => undefined);
  if (stat === undefined) return fail('parent', `points at ${target}, which is missing`);
  if (!stat.isDirectory()) fail('parent', `points at ${target}, which is not a checkpoint directory`);
  return parent;
}

// A file of the manifest: a regular file (not a link) of the listed size and hash.
async function checkFile(
  dir: string,
  file: { name: string; size: number; xxh64: string },
  fail: (file: string, problem: string) => never,
): Promise<void> {
  const path = join(dir, file.name);
  const stat = await lstat(path).catch(() => undefined);
  if (stat === undefined) return fail(file.name, 'missing');
  if (!stat.isFile()) fail(file.name, 'is not a regular file');
  if (stat.size !== file.size) fail(file.name, `is ${stat.size} bytes, the manifest says ${file.size}`);
  const hasher = await createFileHasher();
  // A read stream with no encoding yields Buffers; Node types its chunks as any.
  for await (const chunk of createReadStream(path, { highWaterMark: DATA_CHUNK_BYTES })) hasher.update(chunk);
  const hash = hasher.hex();
  if (hash !== file.xxh64)
    fail(file.name, `xxh64 is ${hash}, the manifest says ${file.xxh64}: its content changed since it arrived`);
}

// remusd's own decoders over the images CRIU would read first: the inventory, and every pagemap against its pages image.
async function checkStructure(
  dir: string,
  sizes: Map<string, number>,
  hasParent: boolean,
  pageSize: number,
  fail: (file: string, problem: string) => never,
): Promise<void> {
  if (!sizes.has('inventory.img')) fail('inventory.img', 'missing: not a CRIU checkpoint');
  await readInventoryFile(join(dir, 'inventory.img'));
  for (const name of [...sizes.keys()].filter((n) => PAGEMAP.test(n)).sort()) {
    const pagemap = decodePagemap(await readImageBytes(join(dir, name)), join(dir, name));
    const pagesFile = `pages-${pagemap.pagesId}.img`;
    const size = sizes.get(pagesFile);
    const pages = presentPages(pagemap);
    if (size === undefined) fail(pagesFile, `missing: ${name} keeps ${pages} pages in it`);
    if (size !== pages * pageSize) {
      fail(
        pagesFile,
        `is ${size} bytes, but ${name} keeps ${pages} pages of ${pageSize} bytes in it (${pages * pageSize} bytes): truncated or padded`,
      );
    }
    if (!hasParent && pagemap.entries.some((e) => (e.flags & PE_PARENT) !== 0))
      fail(name, 'keeps pages in a parent checkpoint, but this one has no parent');
  }
}

// A plain images directory's files (no manifest): its regular files, by size.
async function plainFiles(entries: Dirent[], dir: string): Promise<{ name: string; size: number }[]> {
  return Promise.all(
    entries
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map(async (e) => ({ name: e.name, size: (await lstat(join(dir, e.name))).size })),
  );
}
