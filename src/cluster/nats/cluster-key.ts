/**
 * The cluster key: a secret only the head and the nodes hold (`--cluster_key_file`), never sent over
 * NATS. From it come two keys (HKDF-SHA256):
 *
 * - a MAC key: nodes sign their registration and heartbeats, the head signs what it asks of nodes
 *   (start/stop/reconcile/hello); a message without a valid signature is dropped, so a process that
 *   merely reaches NATS cannot pose as a node (and receive deployments) or command one;
 * - an encryption key (AES-256-GCM): deployment secrets (`saas.api_key`, …) are sealed in JetStream
 *   KV and in the start requests the head sends to nodes, so neither a KV reader nor a subscriber
 *   sees them.
 *
 * The file holds at least 32 bytes of random text (`openssl rand -hex 32`); `byzerllm start --head
 * --cluster_key_file F` writes one (mode 0600) when F does not exist yet, to be copied to each node.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import fs from 'node:fs/promises';
import { InvalidArgumentError } from '../../core/index.js';

const MINIMUM_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class ClusterKey {
  private constructor(
    private readonly macKey: Buffer,
    private readonly encryptionKey: Buffer,
  ) {}

  /** A key from secret material (at least 32 bytes). */
  static fromMaterial(material: Uint8Array): ClusterKey {
    if (material.length < MINIMUM_KEY_BYTES) {
      throw new InvalidArgumentError(
        `a cluster key needs at least ${MINIMUM_KEY_BYTES} bytes of random text; got ${material.length} (create one with \`openssl rand -hex 32\`)`,
      );
    }
    const derive = (purpose: string) =>
      Buffer.from(hkdfSync('sha256', material, 'byzerllm-cluster', purpose, 32));
    return new ClusterKey(derive('mac'), derive('encryption'));
  }

  /**
   * Reads the key file. With `createIfMissing` (the head), a missing file is created with a fresh
   * key, mode 0600. A file that others may read is refused: the key is the cluster's trust.
   */
  static async fromFile(
    file: string,
    options: { createIfMissing?: boolean; log?: (line: string) => void } = {},
  ): Promise<ClusterKey> {
    let content: Buffer;
    try {
      content = await fs.readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || !options.createIfMissing) {
        throw new InvalidArgumentError(`cannot read the cluster key file ${file}: ${code ?? 'unreadable'}`);
      }
      const fresh = `${randomBytes(32).toString('hex')}\n`;
      await fs.writeFile(file, fresh, { mode: 0o600, flag: 'wx' });
      options.log?.(`wrote a new cluster key to ${file}: copy it to every node (--cluster_key_file)`);
      content = Buffer.from(fresh);
    }
    const stat = await fs.stat(file);
    if ((stat.mode & 0o077) !== 0) {
      throw new InvalidArgumentError(
        `the cluster key file ${file} is readable by others (mode ${(stat.mode & 0o777).toString(8)}); \`chmod 600 ${file}\``,
      );
    }
    return ClusterKey.fromMaterial(Buffer.from(content.toString('utf8').trim(), 'utf8'));
  }

  /** HMAC-SHA256 of `text`, hex. */
  sign(text: string): string {
    return createHmac('sha256', this.macKey).update(text).digest('hex');
  }

  verify(text: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(text), 'hex');
    const given = Buffer.from(signature, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /**
   * AES-256-GCM: base64url of iv | tag | ciphertext. `context` is authenticated with it (a sealed
   * value cannot be moved to another deployment or purpose).
   */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url');
  }

  /** Opens what `seal` made with the same context; throws `InvalidArgumentError` otherwise. */
  open(sealed: string, context: string): string {
    const bytes = Buffer.from(sealed, 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new InvalidArgumentError(
        `cannot decrypt the secrets of ${context}: sealed with another cluster key (check --cluster_key_file)`,
      );
    }
  }
}
