/** Reading what is appended to a log file, for `byzerllm logs --follow` and the deploy progress line. */
import fsPromises from 'node:fs/promises';

/**
 * The complete lines written to `file` after byte `offset`, and where the next read starts. A file
 * that shrank was replaced and is read from its start; a missing file reads as nothing.
 */
export async function readAppended(file: string, offset: number): Promise<{ text: string; next: number }> {
  const handle = await fsPromises.open(file, 'r').catch(() => undefined);
  if (!handle) return { text: '', next: offset };
  try {
    const { size } = await handle.stat();
    const start = size < offset ? 0 : offset;
    if (size === start) return { text: '', next: start };
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const end = buffer.lastIndexOf(0x0a) + 1;
    return { text: buffer.subarray(0, end).toString('utf8'), next: start + end };
  } finally {
    await handle.close();
  }
}
