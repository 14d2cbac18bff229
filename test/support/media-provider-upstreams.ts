/**
 * Local stand-ins for the three speech/image-only providers, each on its documented wire format:
 *
 * - Volcano Engine TTS: `POST /api/v1/tts`, `Authorization: Bearer;<token>` (semicolon), JSON
 *   `{app: {appid, token, cluster}, user: {uid}, audio: {voice_type, encoding}, request: {reqid,
 *   text, text_type, operation: "query"}}` → `{reqid, code: 3000, message: "Success", sequence: -1,
 *   data: <base64 audio>, addition: {duration}}`; a wrong token → HTTP 401 `{code: 3001, message:
 *   "[Invalid token]"}`; a bad body → `code` 3001; the text `busy` → `code` 3005.
 * - Azure Speech TTS: `POST /cognitiveservices/v1[?deploymentId=…]`, `Ocp-Apim-Subscription-Key`,
 *   `Content-Type: application/ssml+xml`, `X-Microsoft-OutputFormat` one of Azure's names → the
 *   audio bytes `AZURE:<format>:<voice>:<text>`; a wrong key → 401 (empty body, as Azure does);
 *   malformed SSML → 400.
 * - SiliconFlow images: `POST /v1/images/generations`, Bearer auth, `{model, prompt, image_size,
 *   batch_size, …}` → `{images: [{url}], timings, seed}`, the URLs served by the same server under
 *   `/files/…` as `image/png` bytes `SF-PNG:<size>:<prompt>`.
 */
import { countWords, type ProtocolServer, sendJson, startProtocolServer } from './protocol-server.js';

export async function startVolcengineUpstream(token: string, appId: string): Promise<ProtocolServer> {
  return startProtocolServer(async ({ request, response }) => {
    if (request.method !== 'POST' || request.path !== '/api/v1/tts') {
      return sendJson(response, 404, { code: 3001, message: 'not found' });
    }
    if (request.headers.authorization !== `Bearer;${token}`) {
      return sendJson(response, 401, {
        code: 3001,
        message: '[Invalid token] authenticate request: load grant: requested grant not found',
      });
    }
    const body = (request.body ?? {}) as Record<string, Record<string, unknown> | undefined>;
    const valid =
      body.app?.appid === appId &&
      typeof body.app?.token === 'string' &&
      typeof body.app?.cluster === 'string' &&
      typeof body.user?.uid === 'string' &&
      typeof body.audio?.voice_type === 'string' &&
      typeof body.request?.reqid === 'string' &&
      typeof body.request?.text === 'string' &&
      body.request?.operation === 'query';
    const reqid = String(body.request?.reqid ?? '');
    if (!valid)
      return sendJson(response, 200, { reqid, code: 3001, message: 'invalid request', sequence: -1 });
    const text = String(body.request?.text);
    if (text === 'busy')
      return sendJson(response, 200, { reqid, code: 3005, message: 'server busy', sequence: -1 });
    const audio = Buffer.from(`VOLC-${body.audio?.encoding ?? 'mp3'}:${body.audio?.voice_type}:${text}`);
    sendJson(response, 200, {
      reqid,
      code: 3000,
      operation: 'query',
      message: 'Success',
      sequence: -1,
      data: audio.toString('base64'),
      addition: { duration: String(countWords(text) * 500) },
    });
  });
}

const AZURE_FORMATS = new Set([
  'audio-48khz-192kbitrate-mono-mp3',
  'riff-24khz-16bit-mono-pcm',
  'audio-16khz-32kbitrate-mono-mp3',
]);

export async function startAzureTtsUpstream(key: string): Promise<ProtocolServer> {
  return startProtocolServer(async ({ request, response }) => {
    if (request.method !== 'POST' || request.path !== '/cognitiveservices/v1') {
      response.writeHead(404).end();
      return;
    }
    if (request.headers['ocp-apim-subscription-key'] !== key) {
      response.writeHead(401).end();
      return;
    }
    const format = String(request.headers['x-microsoft-outputformat'] ?? '');
    const ssml = typeof request.body === 'string' ? request.body : '';
    const voice = /<voice[^>]*\bname='([^']+)'[^>]*>([\s\S]*)<\/voice>/.exec(ssml);
    if (
      request.headers['content-type'] !== 'application/ssml+xml' ||
      !AZURE_FORMATS.has(format) ||
      !/^<speak version='1.0' xml:lang='[\w-]+'>/.test(ssml) ||
      !voice
    ) {
      response.writeHead(400, { 'content-type': 'text/plain' }).end('Bad Request');
      return;
    }
    const text = (voice[2] ?? '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&apos;/g, "'")
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&');
    const audio = Buffer.from(`AZURE:${format}:${voice[1]}:${text}`);
    response.writeHead(200, {
      'content-type': format.includes('mp3') ? 'audio/mpeg' : 'audio/x-wav',
      'content-length': audio.length,
    });
    response.end(audio);
  });
}

export async function startSiliconFlowUpstream(apiKey: string): Promise<ProtocolServer> {
  const files = new Map<string, Buffer>();
  let sequence = 0;
  const server: ProtocolServer = await startProtocolServer(async ({ request, response }) => {
    if (request.method === 'GET' && files.has(request.path)) {
      const bytes = files.get(request.path) as Buffer;
      response.writeHead(200, { 'content-type': 'image/png', 'content-length': bytes.length });
      response.end(bytes);
      return;
    }
    if (request.method !== 'POST' || request.path !== '/v1/images/generations') {
      return sendJson(response, 404, { code: 20012, message: 'Not Found', data: null });
    }
    if (request.headers.authorization !== `Bearer ${apiKey}`) {
      return sendJson(response, 401, { code: 20003, message: 'Invalid token', data: null });
    }
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (typeof body.model !== 'string' || typeof body.prompt !== 'string') {
      return sendJson(response, 400, { code: 20015, message: 'model and prompt are required', data: null });
    }
    const size = typeof body.image_size === 'string' ? body.image_size : '1024x1024';
    const count = typeof body.batch_size === 'number' ? body.batch_size : 1;
    const images = Array.from({ length: count }, () => {
      const path = `/files/image-${++sequence}.png`;
      files.set(path, Buffer.from(`SF-PNG:${size}:${body.prompt}`));
      return { url: `${server.url}${path}` };
    });
    sendJson(response, 200, { images, timings: { inference: 1.5 }, seed: 42 });
  });
  return server;
}
