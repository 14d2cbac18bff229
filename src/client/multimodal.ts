/**
 * Multimodal conventions of Byzer-LLM.
 *
 * - `ImagePath` / `AudioPath`: a file path whose string form is the base64 tag
 *   `<_image_>data:image/png;base64,…</_image_>` (`<_audio_>…</_audio_>`), so interpolating one into a
 *   prompt template embeds the file.
 * - Message content may carry images as such tags, or as Byzer-LLM's JSON list
 *   `[{"image": "<data URL or http URL>", "text": "…"}]` (also `{"audio": …}`); `contentToParts`
 *   turns both into protocol content parts. Plain text stays a string.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type ContentPart, InvalidArgumentError, NotFoundError } from '../core/index.js';

const IMAGE_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
};
const AUDIO_TYPES: Record<string, string> = {
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.flac': 'audio/flac',
  '.m4a': 'audio/mp4',
  '.webm': 'audio/webm',
};

function loadAsDataUrl(filePath: string, types: Record<string, string>, kind: string): string {
  const extension = path.extname(filePath).toLowerCase();
  const mediaType = types[extension];
  if (!mediaType) {
    throw new InvalidArgumentError(
      `${kind} file ${filePath} has an unknown extension "${extension}"; allowed: ${Object.keys(types).join(', ')}`,
    );
  }
  let data: Buffer;
  try {
    data = readFileSync(filePath);
  } catch (error) {
    throw new NotFoundError(`cannot read ${kind} file ${filePath}`, { cause: error });
  }
  return `data:${mediaType};base64,${data.toString('base64')}`;
}

/** Decodes a `data:<type>;base64,…` URL. */
export function decodeDataUrl(dataUrl: string): { mediaType: string; data: Uint8Array } {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(dataUrl);
  if (!match) throw new InvalidArgumentError('expected a data:<type>;base64,… URL');
  return { mediaType: match[1]!, data: Buffer.from(match[2]!, 'base64') };
}

export const Image = {
  /** `data:image/<type>;base64,…` of an image file. */
  loadImageFromPath(filePath: string): string {
    return loadAsDataUrl(filePath, IMAGE_TYPES, 'image');
  },
  /** Writes a data URL (or raw base64) to a file; the suffix is fixed to the media type when asked. */
  async saveImageToPath(dataUrl: string, filePath: string, autoFixSuffix = false): Promise<string> {
    return saveData(dataUrl, filePath, autoFixSuffix, IMAGE_TYPES);
  },
  /** The image paths (or data URLs) inside `<_image_>…</_image_>` tags of a text. */
  extractImagePaths(text: string): string[] {
    return [...text.matchAll(/<_image_>(.*?)<\/_image_>/gs)].map((match) => match[1]!.trim());
  },
};

export const Audio = {
  loadAudioFromPath(filePath: string): string {
    return loadAsDataUrl(filePath, AUDIO_TYPES, 'audio');
  },
  async saveAudioToPath(dataUrl: string, filePath: string, autoFixSuffix = false): Promise<string> {
    return saveData(dataUrl, filePath, autoFixSuffix, AUDIO_TYPES);
  },
  extractAudioPaths(text: string): string[] {
    return [...text.matchAll(/<_audio_>(.*?)<\/_audio_>/gs)].map((match) => match[1]!.trim());
  },
};

async function saveData(
  dataUrl: string,
  filePath: string,
  autoFixSuffix: boolean,
  types: Record<string, string>,
): Promise<string> {
  const { mediaType, data } = dataUrl.startsWith('data:')
    ? decodeDataUrl(dataUrl)
    : { mediaType: '', data: Buffer.from(dataUrl, 'base64') };
  let target = filePath;
  if (autoFixSuffix && mediaType) {
    const extension = Object.entries(types).find(([, type]) => type === mediaType)?.[0];
    if (extension && path.extname(filePath).toLowerCase() !== extension) {
      target = filePath.slice(0, filePath.length - path.extname(filePath).length) + extension;
    }
  }
  await writeFile(target, data);
  return target;
}

/** A file path that renders as an `<_image_>` tag holding the file as a data URL. */
export class ImagePath {
  constructor(readonly value: string) {}
  toString(): string {
    return `<_image_>${Image.loadImageFromPath(this.value)}</_image_>`;
  }
}

/** A file path that renders as an `<_audio_>` tag holding the file as a data URL. */
export class AudioPath {
  constructor(readonly value: string) {}
  toString(): string {
    return `<_audio_>${Audio.loadAudioFromPath(this.value)}</_audio_>`;
  }
}

const BARE_DATA_URL = /data:(image|audio)\/[\w.+-]+;base64,[A-Za-z0-9+/=]+/;

/** A tag's value: a data URL or http URL as is; a file path loaded as a data URL. */
function tagSource(value: string, kind: 'image' | 'audio'): string {
  if (/^(data:|https?:\/\/)/.test(value)) return value;
  return kind === 'image' ? Image.loadImageFromPath(value) : Audio.loadAudioFromPath(value);
}

/**
 * Message content → protocol content: a string without images stays a string; `<_image_>` /
 * `<_audio_>` tags and Byzer-LLM's `[{"image": …, "text": …}]` JSON become parts.
 */
export function contentToParts(content: string): string | ContentPart[] {
  const json = seedJsonParts(content);
  if (json) return json;
  if (!/<_(image|audio)_>/.test(content) && !BARE_DATA_URL.test(content)) return content;
  const parts: ContentPart[] = [];
  for (const match of content.matchAll(/<_(image|audio)_>(.*?)<\/_\1_>/gs)) {
    const kind = match[1] as 'image' | 'audio';
    parts.push({ type: kind, url: tagSource(match[2]!.trim(), kind) });
  }
  let text = content.replace(/<_(image|audio)_>.*?<\/_\1_>/gs, '');
  // A bare data URL (e.g. `{{ image }}` of `Image.loadImageFromPath`) is an image or audio too.
  for (const match of text.matchAll(new RegExp(BARE_DATA_URL.source, 'g'))) {
    parts.push({ type: match[1] === 'image' ? 'image' : 'audio', url: match[0] });
  }
  text = text.replace(new RegExp(BARE_DATA_URL.source, 'g'), '').trim();
  if (text) parts.push({ type: 'text', text });
  return parts;
}

function seedJsonParts(content: string): ContentPart[] | undefined {
  const trimmed = content.trim();
  if (!trimmed.startsWith('[') && !trimmed.startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  const isPart = (item: unknown) =>
    typeof item === 'object' &&
    item !== null &&
    ('image' in item || 'audio' in item || (item as { type?: unknown }).type === 'image_url');
  if (items.length === 0 || !items.some(isPart)) return undefined;
  const parts: ContentPart[] = [];
  for (const item of items as Record<string, unknown>[]) {
    // OpenAI's own part shape, which Byzer-LLM also accept inside the JSON content.
    const imageUrl = item.image_url as { url?: unknown; detail?: unknown } | undefined;
    if (item.type === 'image_url' && typeof imageUrl?.url === 'string') {
      const detail = imageUrl.detail;
      parts.push({
        type: 'image',
        url: tagSource(imageUrl.url, 'image'),
        ...(detail === 'low' || detail === 'high' || detail === 'auto' ? { detail } : {}),
      });
      continue;
    }
    if (typeof item.image === 'string') {
      const detail = item.detail;
      parts.push({
        type: 'image',
        url: tagSource(item.image, 'image'),
        ...(detail === 'low' || detail === 'high' || detail === 'auto' ? { detail } : {}),
      });
    }
    if (typeof item.audio === 'string') parts.push({ type: 'audio', url: tagSource(item.audio, 'audio') });
    if (typeof item.text === 'string' && item.text !== '') parts.push({ type: 'text', text: item.text });
  }
  return parts;
}
