// Public surface of the CRIU image codecs: errors, framing constants, stats, pagemap, inventory.
export { ImageError, ioError, type ImageErrorCode, type ImageErrorFields } from './errors.js';
export {
  IMG_COMMON_MAGIC,
  IMG_SERVICE_MAGIC,
  INVENTORY_MAGIC,
  PAGEMAP_MAGIC,
  STATS_MAGIC,
  MAX_ENTRY_BYTES,
  INVENTORY_FORMAT,
  PAGEMAP_FORMAT,
  STATS_FORMAT,
  joinEntries,
  splitEntries,
  readImageBytes,
  type EntrySpan,
  type ImageFormat,
} from './framing.js';
export {
  decodeStats,
  encodeDumpStats,
  encodeRestoreStats,
  readDumpStatsSync,
  readStatsDir,
  readStatsFile,
  type StatsImage,
} from './stats.js';
export {
  PE_LAZY,
  PE_PARENT,
  PE_PRESENT,
  decodePagemap,
  encodePagemap,
  listPagemapFiles,
  presentPages,
  readPagemapFile,
  type Pagemap,
  type PagemapEntry,
  type PagemapFile,
} from './pagemap.js';
export {
  APPARMOR,
  CRIU_IMAGES_V1,
  CRIU_IMAGES_V1_1,
  NO_LSM,
  PRE_DUMP_READ,
  PRE_DUMP_SPLICE,
  SELINUX,
  decodeInventory,
  encodeInventory,
  readInventoryFile,
  type Inventory,
} from './inventory.js';
