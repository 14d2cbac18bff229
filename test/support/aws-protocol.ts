/**
 * The two AWS wire mechanisms the Bedrock stand-in needs, written from the AWS documentation rather
 * than taken from the SDK (so a mistake in the SDK's use could not hide behind the same code):
 * the event-stream binary framing, and Signature Version 4 verification.
 */
import { createHash, createHmac } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { StandInRequest } from './stand-in-server.js';

/** AWS event-stream framing: prelude (lengths + CRC), string headers (type 7), payload, CRC. */
export function encodeEvent(headers: Record<string, string>, payload: string): Buffer {
  const headerBuffers = Object.entries(headers).map(([name, value]) => {
    const nameBytes = Buffer.from(name);
    const valueBytes = Buffer.from(value);
    const header = Buffer.alloc(1 + nameBytes.length + 1 + 2 + valueBytes.length);
    header.writeUInt8(nameBytes.length, 0);
    nameBytes.copy(header, 1);
    header.writeUInt8(7, 1 + nameBytes.length);
    header.writeUInt16BE(valueBytes.length, 2 + nameBytes.length);
    valueBytes.copy(header, 4 + nameBytes.length);
    return header;
  });
  const headerBytes = Buffer.concat(headerBuffers);
  const payloadBytes = Buffer.from(payload);
  const total = 12 + headerBytes.length + payloadBytes.length + 4;
  const message = Buffer.alloc(total);
  message.writeUInt32BE(total, 0);
  message.writeUInt32BE(headerBytes.length, 4);
  message.writeUInt32BE(crc32(message.subarray(0, 8)), 8);
  headerBytes.copy(message, 12);
  payloadBytes.copy(message, 12 + headerBytes.length);
  message.writeUInt32BE(crc32(message.subarray(0, total - 4)), total - 4);
  return message;
}

/** Recomputes the SigV4 signature (AWS4-HMAC-SHA256, service `bedrock`) and compares. */
export function verifySignature(
  request: StandInRequest,
  credentials: { accessKeyId: string; secretAccessKey: string; region: string },
): { type: string; message: string } | undefined {
  const authorization = String(request.headers.authorization ?? '');
  const parsed =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!parsed)
    return { type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  const [, accessKeyId, date, region, service, signedHeaders, signature] = parsed as unknown as string[];
  if (accessKeyId !== credentials.accessKeyId)
    return {
      type: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    };
  if (region !== credentials.region || service !== 'bedrock')
    return {
      type: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region/service, got ${region}/${service}`,
    };
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(date!))
    return { type: 'InvalidSignatureException', message: 'x-amz-date does not match the credential date' };
  const names = signedHeaders!.split(';');
  if (!names.includes('host'))
    return { type: 'InvalidSignatureException', message: "'Host' must be a signed header" };
  const canonicalHeaders = names
    .map(
      (name) =>
        `${name}:${String(request.headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const payloadHash = createHash('sha256').update(request.rawBody).digest('hex');
  const claimedHash = request.headers['x-amz-content-sha256'];
  if (claimedHash !== undefined && claimedHash !== payloadHash)
    return {
      type: 'InvalidSignatureException',
      message: 'The provided x-amz-content-sha256 does not match the body',
    };
  // Non-S3 services encode each path segment twice: once on the wire, once in the canonical URI.
  const canonicalUri = request.path
    .split('/')
    .map((segment) => encodeRfc3986(segment))
    .join('/');
  const canonicalQuery = [...request.query.entries()]
    .map(([key, value]) => `${encodeRfc3986(key)}=${encodeRfc3986(value)}`)
    .sort()
    .join('&');
  const canonicalRequest = [
    'POST',
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date!), region!), service!),
    'aws4_request',
  );
  const expected = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  if (expected !== signature) {
    return {
      type: 'InvalidSignatureException',
      message: 'The request signature we calculated does not match the signature you provided.',
    };
  }
  return undefined;
}

function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
