// Key material for one primary/backup pair: a private CA that signs exactly two certificates, one per
// side, and is then forgotten. @peculiar/x509 writes the certificates (Node has no X.509 writer; the
// `openssl` binary is not guaranteed on a minimal Debian, a library in package-lock.json is); the keys
// are WebCrypto ECDSA P-256, which Node's TLS 1.3 handshakes with at ~1 ms per side here.
import 'reflect-metadata'; // @peculiar/x509 resolves its parts with tsyringe, which needs this polyfill
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** The two sides of a pair; each certificate says which one it is (subject CN and extended key usage). */
export type PairRole = 'primary' | 'backup';

/** One side's files: the pair's CA certificate (its trust anchor), its own certificate and private key. */
export interface SideMaterial {
  role: PairRole;
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface PairMaterial {
  /** Random, names the pair in every subject (so two pairs' certificates never look alike in a log). */
  pairId: string;
  primary: SideMaterial;
  backup: SideMaterial;
  notAfter: Date;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** The subject common name of a side's certificate in pair `pairId`. */
export function commonName(role: PairRole, pairId: string): string {
  return `remusd ${role} ${pairId}`;
}

/**
 * Makes a pair: a CA (basic constraints CA, path length 0, may sign certificates only) and one
 * certificate per side. The primary's may authenticate TLS clients only, the backup's TLS servers only,
 * so neither can pose as the other. The CA's private key never leaves this function: no third
 * certificate can ever be signed for the pair.
 */
export async function generatePair(days: number, now = new Date()): Promise<PairMaterial> {
  x509.cryptoProvider.set(globalThis.crypto);
  const pairId = randomBytes(8).toString('hex');
  const notBefore = new Date(now.getTime() - 60_000); // tolerate a minute of clock skew between hosts
  const notAfter = new Date(now.getTime() + days * 86_400_000);
  const caKeys = await generateKeys();
  const caName = `CN=remusd pair CA ${pairId}`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: caName,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const side = async (role: PairRole): Promise<SideMaterial> => {
    const keys = await generateKeys();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${commonName(role, pairId)}`,
      issuer: caName,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(
          [role === 'primary' ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth],
          true,
        ),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    return { role, caPem: ca.toString('pem'), certPem: cert.toString('pem'), keyPem: pem('PRIVATE KEY', pkcs8) };
  };
  return { pairId, primary: await side('primary'), backup: await side('backup'), notAfter };
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

// Positive 128-bit serials: unique without bookkeeping, as RFC 5280 asks of one issuer.
function serial(): string {
  const bytes = randomBytes(16);
  bytes.writeUInt8(bytes.readUInt8(0) & 0x7f, 0);
  return bytes.toString('hex');
}

function pem(label: string, der: Buffer): string {
  const base64 = der.toString('base64');
  const lines = Array.from({ length: Math.ceil(base64.length / 64) }, (_, i) => base64.slice(i * 64, i * 64 + 64)).join(
    '\n',
  );
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}
