// A pair's key material on disk. `remusd keys init DIR` writes DIR/primary/ and DIR/backup/, one per host:
//   ca.crt        the pair's CA certificate: the only certificate this side trusts
//   ROLE.crt      this side's certificate, signed by that CA
//   ROLE.key      this side's private key: mode 0600, refused if the group or others can read it
// Loading checks everything a handshake would trip over later, with the file named: a key that does not
// match its certificate, a certificate of the wrong side or another pair, an expired one.
import { errorText } from '../../fs/error-code.js';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commonName, type PairMaterial, type PairRole, type SideMaterial } from './generate.js';

/** Key material that is missing, unsafe or inconsistent; the message names the file and the fix. */
export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

/** What one side loads: what its TLS context needs, plus the pair's id (from its certificate). */
export interface Credentials extends SideMaterial {
  pairId: string;
  /** The other side's certificate subject CN, as the handshake must present it. */
  peerName: string;
  notAfter: Date;
}

export const CA_FILE = 'ca.crt';
export const certFile = (role: PairRole) => `${role}.crt`;
export const keyFile = (role: PairRole) => `${role}.key`;

/** Writes DIR/primary/ and DIR/backup/ (directories 0700, private keys 0600); DIR must be new or empty. */
export function writePair(dir: string, pair: PairMaterial): { primary: string; backup: string } {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new KeyError(`${dir} is not empty: refusing to overwrite key material (remove it, or pick a new directory)`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const written = { primary: join(dir, 'primary'), backup: join(dir, 'backup') };
  for (const side of [pair.primary, pair.backup]) {
    const sideDir = written[side.role];
    mkdirSync(sideDir, { mode: 0o700 });
    // 'wx' with the mode at creation: the key is never readable by others, not even for a moment.
    writeFileSync(join(sideDir, keyFile(side.role)), side.keyPem, { mode: 0o600, flag: 'wx' });
    writeFileSync(join(sideDir, certFile(side.role)), side.certPem, { mode: 0o644, flag: 'wx' });
    writeFileSync(join(sideDir, CA_FILE), side.caPem, { mode: 0o644, flag: 'wx' });
  }
  return written;
}

/** Loads and checks this side's key material from dir (one of the directories writePair made). */
export function loadCredentials(dir: string, role: PairRole, now = new Date()): Credentials {
  const other: PairRole = role === 'primary' ? 'backup' : 'primary';
  const fix = `create a pair with \`remusd keys init DIR\` and give this side DIR/${role}`;
  if (!existsSync(dir)) throw new KeyError(`key directory ${dir} does not exist: ${fix}`);
  if (existsSync(join(dir, keyFile(other))) && !existsSync(join(dir, keyFile(role)))) {
    throw new KeyError(
      `${dir} holds the ${other}'s key material, and this is the ${role}: give it DIR/${role} of the same pair`,
    );
  }
  const keyPath = join(dir, keyFile(role));
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new KeyError(`cannot read ${path}: ${errorText(error)} (${fix})`);
    }
  };
  const keyPem = read(keyPath);
  checkPrivate(keyPath);
  const caPem = read(join(dir, CA_FILE));
  const certPem = read(join(dir, certFile(role)));
  const ca = parseCert(join(dir, CA_FILE), caPem);
  const cert = parseCert(join(dir, certFile(role)), certPem);
  if (!ca.ca) throw new KeyError(`${join(dir, CA_FILE)} is not a CA certificate`);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
    throw new KeyError(
      `${join(dir, certFile(role))} was not signed by ${join(dir, CA_FILE)}: the files come from different pairs`,
    );
  const pairId = /^CN=remusd pair CA ([0-9a-f]{16})$/m.exec(ca.subject)?.[1];
  if (pairId === undefined)
    throw new KeyError(`${join(dir, CA_FILE)} is not a remusd pair CA (subject ${JSON.stringify(ca.subject)})`);
  if (!cert.subject.split('\n').includes(`CN=${commonName(role, pairId)}`)) {
    throw new KeyError(
      `${join(dir, certFile(role))} is not the ${role}'s certificate of pair ${pairId} (subject ${JSON.stringify(cert.subject)})`,
    );
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new KeyError(
      `${keyPath} is not a PEM private key: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!cert.checkPrivateKey(key)) throw new KeyError(`${keyPath} does not belong to ${join(dir, certFile(role))}`);
  const notAfter = new Date(cert.validTo);
  for (const [path, c] of [
    [join(dir, CA_FILE), ca],
    [join(dir, certFile(role)), cert],
  ] as const) {
    if (now < new Date(c.validFrom) || now > new Date(c.validTo)) {
      throw new KeyError(
        `${path} is valid from ${c.validFrom} to ${c.validTo}, not now (${now.toISOString()}): create a new pair`,
      );
    }
  }
  return { role, caPem, certPem, keyPem, pairId, peerName: commonName(other, pairId), notAfter };
}

// A private key the group or others can read is as good as published on a shared host: refuse it.
function checkPrivate(path: string): void {
  const stat = statSync(path);
  if ((stat.mode & 0o077) !== 0) {
    throw new KeyError(
      `${path} is readable or writable by group or others (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}): run chmod 600 ${path}`,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid)
    throw new KeyError(`${path} belongs to uid ${stat.uid}, not to this process's uid ${uid}: chown it`);
}

function parseCert(path: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new KeyError(`${path} is not a PEM certificate: ${error instanceof Error ? error.message : String(error)}`);
  }
}
