/**
 * `byzerllm jobs plot`: the loss (and eval loss) of a job as a PNG line chart.
 *
 * Drawn into an RGB raster and encoded as PNG with zlib (no image or chart dependency): axes,
 * horizontal grid lines, training loss in blue, eval loss as red dots. No text rendering: the
 * command prints the axis ranges beside the file.
 */
import zlib from 'node:zlib';

export interface Series {
  points: Array<{ x: number; y: number }>;
  color: [number, number, number];
  /** Draw dots instead of a line. */
  dots?: boolean;
}

export interface ChartRange {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

export function renderLineChart(
  series: Series[],
  width = 800,
  height = 480,
): { png: Uint8Array; range: ChartRange } {
  const pixels = new Uint8Array(width * height * 3).fill(255);
  const all = series.flatMap((entry) => entry.points);
  const range: ChartRange = {
    xMin: Math.min(...all.map((point) => point.x)),
    xMax: Math.max(...all.map((point) => point.x)),
    yMin: Math.min(0, ...all.map((point) => point.y)),
    yMax: Math.max(...all.map((point) => point.y)),
  };
  if (range.xMax === range.xMin) range.xMax = range.xMin + 1;
  if (range.yMax === range.yMin) range.yMax = range.yMin + 1;
  const margin = 40;
  const set = (x: number, y: number, color: readonly number[]) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const offset = (Math.round(y) * width + Math.round(x)) * 3;
    pixels[offset] = color[0]!;
    pixels[offset + 1] = color[1]!;
    pixels[offset + 2] = color[2]!;
  };
  const line = (x0: number, y0: number, x1: number, y1: number, color: readonly number[]) => {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let step = 0; step <= steps; step++) {
      set(x0 + ((x1 - x0) * step) / steps, y0 + ((y1 - y0) * step) / steps, color);
    }
  };
  const toX = (x: number) => margin + ((x - range.xMin) / (range.xMax - range.xMin)) * (width - 2 * margin);
  const toY = (y: number) =>
    height - margin - ((y - range.yMin) / (range.yMax - range.yMin)) * (height - 2 * margin);
  for (let grid = 0; grid <= 4; grid++) {
    const y = margin + ((height - 2 * margin) * grid) / 4;
    line(margin, y, width - margin, y, [225, 225, 225]);
  }
  line(margin, height - margin, width - margin, height - margin, [0, 0, 0]);
  line(margin, margin, margin, height - margin, [0, 0, 0]);
  for (const entry of series) {
    entry.points.forEach((point, index) => {
      const x = toX(point.x);
      const y = toY(point.y);
      if (entry.dots) {
        for (let dx = -3; dx <= 3; dx++)
          for (let dy = -3; dy <= 3; dy++) if (dx * dx + dy * dy <= 9) set(x + dx, y + dy, entry.color);
      } else if (index > 0) {
        const previous = entry.points[index - 1]!;
        line(toX(previous.x), toY(previous.y), x, y, entry.color);
        line(toX(previous.x), toY(previous.y) + 1, x, y + 1, entry.color);
      }
    });
  }
  return { png: encodePng(pixels, width, height), range };
}

function encodePng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const raw = new Uint8Array((width * 3 + 1) * height);
  for (let row = 0; row < height; row++) {
    raw[row * (width * 3 + 1)] = 0; // filter: none
    raw.set(rgb.subarray(row * width * 3, (row + 1) * width * 3), row * (width * 3 + 1) + 1);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter method, no interlace
  const chunks = [
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', new Uint8Array()),
  ];
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]);
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), Buffer.from(data)]);
  const result = Buffer.alloc(body.length + 8);
  result.writeUInt32BE(data.length, 0);
  body.copy(result, 4);
  result.writeUInt32BE(crc32(body), body.length + 4);
  return result;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, index) => {
  let value = index;
  for (let bit = 0; bit < 8; bit++) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
  return value >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
