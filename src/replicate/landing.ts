import { open, rm, symlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { freshDirectory, markLatest, publish } from '../store/checkpoints.js';
import { recordLanded } from './backup-runs.js';
import { currentLatest } from './latest.js';
import { errorMessage } from '../fs/error-code.js';
import { fsyncPath } from '../fs/fsync.js';
import { createFileHasher, type FileHasher } from '../store/manifest.js';
import { MANIFEST_FILE, type Manifest, type ManifestFile } from './messages.js';

interface OpenFile {
  file: ManifestFile;
  handle: FileHandle;
  hasher: FileHasher;
}

/** A checkpoint arrived damaged (wrong size or hash): it was discarded, nothing took its final name. */
export class VerifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifyError';
  }
}

/**
 * One checkpoint being received into RUNDIR/.NAME.partial/ (RUNDIR: the backup's directory of the
 * sender's run, backup-runs.ts). Bytes arrive in manifest order; each file is hashed as it is written and
 * fsynced when full. Only finish() gives it its final name, after every file checked out, with its
 * manifest beside it (what a failover verifies against later): a dropped connection or a bad hash leaves
 * at most the partial directory, which abort() (or the next receiver start) removes.
 */
export class Landing {
  readonly partialDir: string;
  private index = 0;
  private written = 0;
  private received = 0;
  /** The file being written, open, with its running hash; undefined between files. */
  private writing: OpenFile | undefined;
  private failure: string | undefined;
  readonly name: string;
  readonly files: readonly ManifestFile[];

  constructor(
    readonly root: string,
    readonly manifest: Manifest,
  ) {
    this.name = manifest.name;
    this.files = manifest.files;
    this.partialDir = join(root, `.${manifest.name}.partial`);
  }

  /** Creates the empty partial directory (replacing a stale one from a dropped transfer). */
  begin(): void {
    freshDirectory(this.partialDir);
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.received;
  }

  /**
   * Writes the next received bytes. A problem (more bytes than the manifest, a hash mismatch, a disk
   * error) is remembered and the rest of the stream is drained, so the connection stays in step and
   * finish() can say what went wrong.
   */
  async write(bytes: Buffer): Promise<void> {
    this.received += bytes.length;
    if (this.failure !== undefined) return;
    try {
      let offset = 0;
      while (offset < bytes.length) {
        const target = await this.current();
        if (target === undefined) {
          this.failure = `${this.received} bytes received, more than the manifest's ${this.files.reduce((sum, f) => sum + f.size, 0)}`;
          return;
        }
        const n = Math.min(target.file.size - this.written, bytes.length - offset);
        const piece = bytes.subarray(offset, offset + n);
        await target.handle.write(piece);
        target.hasher.update(piece);
        this.written += n;
        offset += n;
        if (this.written === target.file.size) await this.closeCurrent(target);
      }
    } catch (error) {
      this.failure ??=
        error instanceof VerifyError ? error.message : `writing ${this.partialDir}: ${errorMessage(error)}`;
    }
  }

  /**
   * Checks that every file arrived whole and matches its hash, links the parent, and renames the
   * checkpoint into place; `latest` moves to it if it is the newest here. Throws VerifyError otherwise
   * (the partial directory is removed).
   */
  async finish(): Promise<void> {
    try {
      if (this.failure === undefined) {
        for (let target = await this.current(); target !== undefined; target = await this.current()) {
          const { file } = target;
          if (this.written !== file.size)
            throw new VerifyError(`${this.name}/${file.name}: ${this.written} of ${file.size} bytes arrived`);
          await this.closeCurrent(target);
        }
      }
      if (this.failure !== undefined) throw new VerifyError(`${this.name}: ${this.failure}`);
      await writeManifest(join(this.partialDir, MANIFEST_FILE), this.manifest);
      if (this.manifest.parent !== null) await symlink(`../${this.manifest.parent}`, join(this.partialDir, 'parent'));
      // A rename or a new entry is durable only once its directory is fsynced.
      await fsyncPath(this.partialDir);
      publish(this.partialDir, join(this.root, this.name));
      // A damaged `latest` (not a checkpoint name) is replaced rather than failing the landing.
      const latest = await currentLatest(this.root).catch(() => undefined);
      if (this.name > (latest ?? '')) markLatest(this.root, this.name);
      await recordLanded(this.root, this.name);
      await fsyncPath(this.root);
    } catch (error) {
      await this.abort();
      if (error instanceof VerifyError) throw error;
      throw new VerifyError(`${this.name}: ${errorMessage(error)}`);
    }
  }

  /** Discards the partial directory (a dropped connection or a failed check). */
  async abort(): Promise<void> {
    await this.writing?.handle.close().catch(() => undefined);
    this.writing = undefined;
    await rm(this.partialDir, { recursive: true, force: true });
  }

  /** The file being written (opened on first use), or undefined past the last one. */
  private async current(): Promise<OpenFile | undefined> {
    if (this.writing !== undefined) return this.writing;
    const file = this.files[this.index];
    if (file === undefined) return undefined;
    const handle = await open(join(this.partialDir, file.name), 'wx');
    this.writing = { file, handle, hasher: await createFileHasher() };
    this.written = 0;
    return this.writing;
  }

  private async closeCurrent({ file, handle, hasher }: OpenFile): Promise<void> {
    this.writing = undefined;
    this.index++;
    try {
      const hash = hasher.hex();
      if (hash !== file.xxh64)
        throw new VerifyError(`${this.name}/${file.name}: xxh64 ${hash}, the manifest says ${file.xxh64}`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** Writes a manifest file (it must not exist yet) and fsyncs it. */
export async function writeManifest(path: string, manifest: Manifest): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(`${JSON.stringify(manifest)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
