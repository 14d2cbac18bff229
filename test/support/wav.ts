/** WAV fixtures for speech tests: real RIFF/WAVE bytes, as any recorder writes them. */

/** A mono 16-bit PCM WAV of a sine tone. */
export function toneWav(frequency: number, seconds: number, rate = 16_000): Uint8Array {
  const frames = Math.round(seconds * rate);
  const bytes = Buffer.alloc(44 + frames * 2);
  bytes.write('RIFF', 0);
  bytes.writeUInt32LE(36 + frames * 2, 4);
  bytes.write('WAVEfmt ', 8);
  bytes.writeUInt32LE(16, 16);
  bytes.writeUInt16LE(1, 20);
  bytes.writeUInt16LE(1, 22);
  bytes.writeUInt32LE(rate, 24);
  bytes.writeUInt32LE(rate * 2, 28);
  bytes.writeUInt16LE(2, 32);
  bytes.writeUInt16LE(16, 34);
  bytes.write('data', 36);
  bytes.writeUInt32LE(frames * 2, 40);
  for (let frame = 0; frame < frames; frame++) {
    bytes.writeInt16LE(
      Math.round(16_000 * Math.sin((2 * Math.PI * frequency * frame) / rate)),
      44 + frame * 2,
    );
  }
  return new Uint8Array(bytes);
}
