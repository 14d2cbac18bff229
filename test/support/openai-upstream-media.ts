/**
 * The OpenAI media endpoints of the local stand-in, answered deterministically:
 *
 * - `POST /v1/audio/speech` `{model, input, voice, response_format?, speed?}` → the bytes
 *   `FAKE-<FORMAT>:<voice>:<input>` with the format's content type (`audio/mpeg` for mp3).
 * - `POST /v1/audio/transcriptions` (multipart: `file`, `model`, `response_format`,
 *   `timestamp_granularities[]`) → the file's bytes read as UTF-8 text are the transcription; with
 *   `verbose_json` it carries `language`, `duration`, one segment and (when asked for) one word entry
 *   per word, 0.5 s each.
 * - `POST /v1/images/generations` `{model, prompt, n?, size?, response_format?}` → `n` images whose
 *   bytes are `FAKE-PNG:<size>:<prompt>`, as `b64_json` or as a `url` (OpenAI's default).
 * Missing required fields get OpenAI's 400 `invalid_request_error` body.
 */

const MEDIA_ROUTES = [
  'POST /v1/audio/speech',
  'POST /v1/audio/transcriptions',
  'POST /v1/images/generations',
];

const SPEECH_CONTENT_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  opus: 'audio/opus',
  aac: 'audio/aac',
  flac: 'audio/flac',
  pcm: 'audio/pcm',
};

export interface MediaAnswer {
  status: number;
  json?: unknown;
  bytes?: Buffer;
  contentType?: string;
}

/** A multipart upload as recorded: text fields as strings (repeated names as arrays), files described. */
export type MultipartFields = Record<string, string | string[] | UploadedFile>;

export interface UploadedFile {
  filename: string;
  type: string;
  /** The file's bytes, base64. */
  base64: string;
}

export function isMediaRoute(route: string): boolean {
  return MEDIA_ROUTES.includes(route);
}

/** Parses a `multipart/form-data` body with the platform's own parser (the one `fetch` uses). */
export async function readMultipart(bytes: Buffer, contentType: string): Promise<MultipartFields> {
  const form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData();
  const fields: MultipartFields = {};
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') {
      const existing = fields[name];
      if (existing === undefined) fields[name] = value;
      else if (Array.isArray(existing)) existing.push(value);
      else if (typeof existing === 'string') fields[name] = [existing, value];
    } else {
      fields[name] = {
        filename: value.name,
        type: value.type,
        base64: Buffer.from(await value.arrayBuffer()).toString('base64'),
      };
    }
  }
  return fields;
}

export function handleMediaRoute(route: string, body: unknown): MediaAnswer {
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof fields.model !== 'string') return invalid('you must provide a model parameter');
  if (route === 'POST /v1/audio/speech') return speech(fields);
  if (route === 'POST /v1/audio/transcriptions') return transcription(fields);
  return images(fields);
}

function speech(fields: Record<string, unknown>): MediaAnswer {
  if (typeof fields.input !== 'string') return invalid("'input' is a required property");
  if (typeof fields.voice !== 'string') return invalid("'voice' is a required property");
  const format = typeof fields.response_format === 'string' ? fields.response_format : 'mp3';
  const contentType = SPEECH_CONTENT_TYPES[format];
  if (!contentType) return invalid(`Invalid value for 'response_format': ${format}`);
  return {
    status: 200,
    contentType,
    bytes: Buffer.from(`FAKE-${format.toUpperCase()}:${fields.voice}:${fields.input}`),
  };
}

function transcription(fields: Record<string, unknown>): MediaAnswer {
  const file = fields.file as UploadedFile | undefined;
  if (!file || typeof file !== 'object' || typeof file.base64 !== 'string') {
    return invalid("'file' is a required property (multipart upload)");
  }
  const text = Buffer.from(file.base64, 'base64').toString('utf8');
  const format = typeof fields.response_format === 'string' ? fields.response_format : 'json';
  if (format !== 'verbose_json') return { status: 200, json: { text } };
  const granularities = ([] as unknown[]).concat(fields['timestamp_granularities[]'] ?? ['segment']);
  const words = text.split(/\s+/).filter(Boolean);
  const duration = words.length * 0.5;
  const answer: Record<string, unknown> = {
    task: 'transcribe',
    language: typeof fields.language === 'string' ? fields.language : 'english',
    duration,
    text,
    segments: [
      {
        id: 0,
        seek: 0,
        start: 0,
        end: duration,
        text,
        tokens: [],
        temperature: 0,
        avg_logprob: -0.1,
        compression_ratio: 1,
        no_speech_prob: 0,
      },
    ],
  };
  if (granularities.includes('word')) {
    answer.words = words.map((word, index) => ({ word, start: index * 0.5, end: index * 0.5 + 0.5 }));
  }
  if (!granularities.includes('segment')) delete answer.segments;
  return { status: 200, json: answer };
}

function images(fields: Record<string, unknown>): MediaAnswer {
  if (typeof fields.prompt !== 'string') return invalid("'prompt' is a required property");
  const count = typeof fields.n === 'number' ? fields.n : 1;
  const size = typeof fields.size === 'string' ? fields.size : '1024x1024';
  const bytes = Buffer.from(`FAKE-PNG:${size}:${fields.prompt}`);
  const data = Array.from({ length: count }, (_, index) =>
    fields.response_format === 'b64_json'
      ? { b64_json: bytes.toString('base64'), revised_prompt: `revised: ${fields.prompt}` }
      : { url: `https://images.example.invalid/${index}.png`, revised_prompt: `revised: ${fields.prompt}` },
  );
  return { status: 200, json: { created: 1_700_000_000, data } };
}

function invalid(message: string): MediaAnswer {
  return {
    status: 400,
    json: { error: { message, type: 'invalid_request_error', param: null, code: null } },
  };
}
