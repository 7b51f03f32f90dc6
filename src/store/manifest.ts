import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import xxhash from 'xxhash-wasm';
import { PARENT_LINK, readParentLink } from '../fs/parent-link.js';
import { COMPLETE } from './checkpoints.js';

// What a checkpoint directory holds, file by file (size and xxh64): what a shipper offers in its manifest,
// what a backup verifies before a restore, and what a compaction writes for the base it merged.

/** One file of a checkpoint: its plain name, size and xxh64 (seed 0, 16 lowercase hex digits). */
export interface FileDigest {
  name: string;
  size: number;
  xxh64: string;
}

/** The chunk files are read (and shipped) in: large enough that the per-chunk cost is negligible. */
export const FILE_CHUNK_BYTES = 256 << 10;

// The xxhash-wasm instance, created once (WebAssembly compilation is async).
let wasm: ReturnType<typeof xxhash> | undefined;

/** An xxh64 of a file's bytes, fed in pieces. */
export interface FileHasher {
  update(bytes: Uint8Array): void;
  hex(): string;
}

/** A streaming xxh64 (seed 0) whose digest is 16 lowercase hex digits, as manifests carry it. */
export async function createFileHasher(): Promise<FileHasher> {
  wasm ??= xxhash();
  const state = (await wasm).create64();
  return {
    update: (bytes) => void state.update(bytes),
    hex: () => state.digest().toString(16).padStart(16, '0'),
  };
}

/** What a sender offers for one checkpoint directory. */
export interface LocalCheckpoint {
  name: string;
  dir: string;
  parent: string | null;
  files: FileDigest[];
  bytes: number;
  /** When the checkpoint's directory was last written (just before the supervisor published it), ms. */
  writtenMs: number;
}

/**
 * Reads a complete checkpoint directory: its parent link and each regular file's size and xxh64. The
 * files are read once here and again when streamed; the second read comes from the page cache.
 */
export async function readLocalCheckpoint(root: string, name: string): Promise<LocalCheckpoint> {
  const dir = join(root, name);
  const entries = await readdir(dir, { withFileTypes: true });
  let parent: string | null = null;
  const files: FileDigest[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name === PARENT_LINK) {
      // Its last component alone was taken before: `../../elsewhere/00000005` was shipped as parent 00000005.
      const target = await readParentLink(dir);
      if (target === undefined || !COMPLETE.test(target))
        throw new Error(`${dir}/parent points at "../${target}", not a checkpoint of this directory`);
      parent = target;
    } else if (entry.isFile() && !entry.name.startsWith('.')) {
      const path = join(dir, entry.name);
      const hasher = await createFileHasher();
      let size = 0;
      for await (const chunk of bufferChunks(path)) {
        hasher.update(chunk);
        size += chunk.length;
      }
      files.push({ name: entry.name, size, xxh64: hasher.hex() });
    }
  }
  const { mtimeMs } = await stat(dir);
  return { name, dir, parent, files, bytes: files.reduce((sum, f) => sum + f.size, 0), writtenMs: mtimeMs };
}

// A file's chunks as Buffers: a ReadStream without an encoding yields nothing else, but Node types them `any`.
async function* bufferChunks(path: string): AsyncGenerator<Buffer> {
  for await (const chunk of createReadStream(path, { highWaterMark: FILE_CHUNK_BYTES })) {
    if (!Buffer.isBuffer(chunk)) throw new TypeError(`${path}: read a ${typeof chunk} chunk, expected bytes`);
    yield chunk;
  }
}

/** Streams one manifest file in chunks, failing if it no longer has the size the manifest gave. */
export async function* fileChunks(dir: string, file: FileDigest): AsyncGenerator<Buffer> {
  let sent = 0;
  for await (const chunk of bufferChunks(join(dir, file.name))) {
    sent += chunk.length;
    if (sent > file.size) throw new Error(`${dir}/${file.name} grew after its manifest was made`);
    yield chunk;
  }
  if (sent !== file.size) throw new Error(`${dir}/${file.name} has ${sent} bytes, its manifest said ${file.size}`);
}
