// Software deltas: per-page hashes of a checkpoint and the rewrite of a full dump as a CRIU incremental one.
export {
  HashCursor,
  PageHashes,
  ProcessHashesBuilder,
  fileStamp,
  loadHasher,
  sameStamp,
  type FileStamp,
  type ProcessHashes,
} from './page-hashes.js';
export { checkState, type StateCheck } from './state-check.js';
export {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_PAGE_SIZE,
  rewriteAsDelta,
  type RewriteOptions,
  type RewriteResult,
} from './rewrite.js';
export type { ShmemReport } from './dump-images.js';
export { HASHES_FILE, decodeHashes, encodeHashes, loadHashes, saveHashes } from './persist.js';
export { compactCheckpoint, type CompactOptions, type CompactResult } from './compact.js';
