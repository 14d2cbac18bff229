/**
 * The page's side of the console API (`src/server/console/console-app.ts`): JSON calls, the live
 * snapshot stream and chat streaming. Types come from the server's own declarations.
 */
import type { ClusterStatus, DeploymentStat, StreamPart } from './server-types.js';

export interface Snapshot {
  status: ClusterStatus;
  stats: Record<string, DeploymentStat>;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly fieldErrors: Record<string, string> = {},
  ) {
    super(message);
  }
}

export async function callApi<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`/console/api/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await response.json().catch(() => ({}))) as {
    error?: { message: string };
    fieldErrors?: Record<string, string>;
  };
  if (!response.ok) {
    const message =
      json.error?.message ?? (json.fieldErrors ? 'check the fields marked below' : response.statusText);
    throw new ApiError(message, response.status, json.fieldErrors);
  }
  return json as T;
}

/** Live cluster snapshots; returns the unsubscribe function. */
export function watchSnapshots(onSnapshot: (snapshot: Snapshot) => void, onLost: () => void): () => void {
  const source = new EventSource('/console/api/events');
  source.addEventListener('snapshot', (event) =>
    onSnapshot(JSON.parse((event as MessageEvent<string>).data)),
  );
  source.onerror = () => onLost();
  return () => source.close();
}

export interface ChatInput {
  deployment: string;
  system?: string;
  messages: (
    | { role: 'user' | 'assistant'; content: string }
    | {
        role: 'user';
        content: ({ type: 'text'; text: string } | { type: 'image'; url: string })[];
      }
  )[];
  temperature?: number;
  maxTokens?: number;
}

/** Streams a chat answer: `onPart` runs for each part as it arrives. */
export async function streamChat(
  input: ChatInput,
  onPart: (part: StreamPart) => void,
  signal: AbortSignal,
): Promise<void> {
  const response = await fetch('/console/api/chat', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
    signal,
  });
  if (!response.ok || !response.body) {
    const json = (await response.json().catch(() => ({}))) as { error?: { message: string } };
    throw new ApiError(json.error?.message ?? response.statusText, response.status);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    // Server-sent events end with a blank line; hono writes one `data:` line per event.
    let end = buffered.indexOf('\n\n');
    while (end >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      for (const line of event.split('\n')) {
        if (line.startsWith('data: ')) onPart(JSON.parse(line.slice(6)) as StreamPart);
      }
      end = buffered.indexOf('\n\n');
    }
  }
}
