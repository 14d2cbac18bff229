/**
 * `POST /v1/audio/speech` (JSON in, audio bytes out) and `POST /v1/audio/transcriptions` (multipart
 * form in, parsed with the platform's `Response.formData()`; JSON, verbose JSON or text out).
 */
import { z } from 'zod';
import { type SpeechRequest, TIMESTAMP_GRANULARITIES, type TranscriptionRequest } from '../core/index.js';
import type { Exchange } from './exchange.js';
import { badField } from './map-error.js';
import { sendJson } from './http.js';
import { parseRequest, setFields } from './validate.js';

const speechBodySchema = z.looseObject({
  model: z.string().min(1).optional(),
  input: z.string().min(1),
  voice: z.string().nullish(),
  response_format: z.enum(['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm']).nullish(),
  speed: z.number().min(0.25).max(4).nullish(),
});

export async function handleSpeech(exchange: Exchange, body: Record<string, unknown>): Promise<number> {
  const parsed = parseRequest(speechBodySchema, body);
  const model = exchange.resolveModel(parsed.model);
  const request: SpeechRequest = {
    input: parsed.input,
    ...setFields({ voice: parsed.voice, responseFormat: parsed.response_format, speed: parsed.speed }),
  };
  const result = await exchange.callModel(model, 'speech', request);
  exchange.response.writeHead(200, {
    'content-type': result.mediaType,
    'content-length': result.audio.byteLength,
  });
  exchange.response.end(result.audio);
  return 200;
}

const transcriptionFieldsSchema = z.object({
  model: z.string().min(1).optional(),
  language: z.string().optional(),
  response_format: z.enum(['json', 'text', 'verbose_json']).optional(),
  timestamp_granularities: z.array(z.enum(TIMESTAMP_GRANULARITIES)),
});

export async function handleTranscription(exchange: Exchange, body: Buffer): Promise<number> {
  const contentType = exchange.request.headers['content-type'] ?? '';
  if (!contentType.startsWith('multipart/form-data')) {
    throw badField(
      'file',
      `expected a multipart/form-data body with a file field, not ${JSON.stringify(contentType)}`,
    );
  }
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch (error) {
    throw badField('file', `the multipart body cannot be parsed (${(error as Error).message})`);
  }
  const file = form.get('file');
  if (!file || typeof file === 'string') throw badField('file', 'missing file: the audio to transcribe');
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const fields = parseRequest(transcriptionFieldsSchema, {
    model: text('model'),
    language: text('language'),
    response_format: text('response_format'),
    // The openai SDK sends `timestamp_granularities[]`; a form written by hand may leave out the [].
    timestamp_granularities: [
      ...form.getAll('timestamp_granularities[]'),
      ...form.getAll('timestamp_granularities'),
    ],
  });
  const model = exchange.resolveModel(fields.model);
  const request: TranscriptionRequest = {
    audio: new Uint8Array(await file.arrayBuffer()),
    mediaType: file.type || 'application/octet-stream',
  };
  if (fields.language) request.language = fields.language;
  const granularities = fields.timestamp_granularities;
  if (granularities.length > 0 || fields.response_format === 'verbose_json') request.timestamps = true;
  if (granularities.length > 0) request.timestampGranularities = [...new Set(granularities)];
  const result = await exchange.callModel(model, 'transcription', request);
  if (fields.response_format === 'text') {
    exchange.response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    exchange.response.end(result.text);
    return 200;
  }
  if (fields.response_format === 'verbose_json') {
    sendJson(exchange.response, 200, {
      task: 'transcribe',
      language: result.language ?? fields.language ?? null,
      duration: result.durationSeconds ?? null,
      text: result.text,
      segments: result.segments ?? [],
      words: result.words ?? [],
    });
    return 200;
  }
  sendJson(exchange.response, 200, { text: result.text });
  return 200;
}
