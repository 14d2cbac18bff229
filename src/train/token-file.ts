/**
 * The token file the trainer reads (python/byzerllm_train/token_data.py): `BZTOKENS`, a u64 header
 * length, a JSON header `{version: 1, examples, tokens}`, padding to 8 bytes, N+1 int64 offsets,
 * the int32 token ids, then one uint8 loss-mask byte per token (1 = a target the loss counts).
 */
import fs from 'node:fs/promises';

export interface TokenExample {
  tokens: number[];
  /** Same length as `tokens`; true where the token is a training target. */
  mask: boolean[];
}

const MAGIC = new TextEncoder().encode('BZTOKENS');

export function serializeTokenFile(examples: readonly TokenExample[]): Uint8Array {
  const total = examples.reduce((sum, example) => sum + example.tokens.length, 0);
  const header = new TextEncoder().encode(
    JSON.stringify({ version: 1, examples: examples.length, tokens: total }),
  );
  let position = 16 + header.length;
  position += (8 - (position % 8)) % 8;
  const offsetsStart = position;
  const tokensStart = offsetsStart + 8 * (examples.length + 1);
  const maskStart = tokensStart + 4 * total;
  const bytes = new Uint8Array(maskStart + total);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setBigUint64(8, BigInt(header.length), true);
  bytes.set(header, 16);
  let offset = 0;
  for (const [index, example] of examples.entries()) {
    if (example.mask.length !== example.tokens.length)
      throw new RangeError(`example ${index}: mask and tokens differ in length`);
    view.setBigInt64(offsetsStart + 8 * index, BigInt(offset), true);
    for (let at = 0; at < example.tokens.length; at++) {
      view.setInt32(tokensStart + 4 * (offset + at), example.tokens[at]!, true);
      bytes[maskStart + offset + at] = example.mask[at] ? 1 : 0;
    }
    offset += example.tokens.length;
  }
  view.setBigInt64(offsetsStart + 8 * examples.length, BigInt(offset), true);
  return bytes;
}

export async function writeTokenFile(filePath: string, examples: readonly TokenExample[]): Promise<void> {
  const temporary = `${filePath}.${process.pid}.tmp`;
  await fs.writeFile(temporary, serializeTokenFile(examples));
  await fs.rename(temporary, filePath);
}
