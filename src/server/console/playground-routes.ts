/**
 * The Playground's API. `GET /console/api/chat-deployments` lists the running deployments whose
 * model chats (meta `tasks` has `chat` and `primary_task` is chat), each with `vision` (its meta's
 * `support_vision`), reading each one's meta once per deployment start: a meta read is a worker
 * call. `POST /console/api/chat` streams the answer as server-sent events, one `StreamPart` per
 * event; a user message to a vision deployment may carry images as data URLs (OpenAI's `image_url`
 * parts upstream), and images for any other deployment are refused before its worker is called.
 */
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { ClusterApi } from '../../cluster/index.js';
import { type ContentPart, InvalidArgumentError, type ModelMeta } from '../../core/index.js';

/** Chat bodies may carry a few images; 16 MiB keeps a handful of phone photos. */
export const CHAT_BODY_LIMIT = 16 * 1024 * 1024;

const contentPartSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text'), text: z.string() }),
  z.strictObject({
    type: z.literal('image'),
    url: z
      .string()
      .regex(/^data:image\/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=]+$/, 'an image is a data:image/…;base64 URL'),
  }),
]);

const chatBodySchema = z.strictObject({
  deployment: z.string().min(1),
  system: z.string().optional(),
  messages: z
    .array(
      z.union([
        z.strictObject({
          role: z.literal('user'),
          content: z.union([z.string(), z.array(contentPartSchema).min(1)]),
        }),
        z.strictObject({ role: z.literal('assistant'), content: z.string() }),
      ]),
    )
    .min(1),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().min(1).optional(),
});

export function mountPlaygroundRoutes(app: Hono, cluster: ClusterApi): void {
  // One entry per deployment name, replaced when it was deployed again: redeploys do not pile up.
  const metaByName = new Map<
    string,
    { startedAt: string | undefined; meta: Promise<ModelMeta | undefined> }
  >();
  const metaOf = (deployment: { name: string; startedAt?: string }) => {
    const known = metaByName.get(deployment.name);
    if (known && known.startedAt === deployment.startedAt) return known.meta;
    const meta = cluster.meta(deployment.name).catch(() => undefined);
    metaByName.set(deployment.name, { startedAt: deployment.startedAt, meta });
    return meta;
  };
  const running = async () => (await cluster.list()).filter((deployment) => deployment.state === 'running');
  app.get('/console/api/chat-deployments', async (context) => {
    const chats = await Promise.all(
      (await running()).map(async (deployment) => {
        const known = await metaOf(deployment);
        const chats = known?.tasks.includes('chat') && (known.primary_task ?? 'chat') === 'chat';
        return chats ? [{ name: deployment.name, vision: known?.support_vision === true }] : [];
      }),
    );
    return context.json({ deployments: chats.flat() });
  });

  app.post('/console/api/chat', async (context) => {
    const body = chatBodySchema.safeParse(await context.req.json().catch(() => null));
    if (!body.success) {
      throw new InvalidArgumentError(
        `invalid chat request: ${body.error.issues[0]?.path.join('.')}: ${body.error.issues[0]?.message}`,
      );
    }
    const { deployment, system, messages, temperature, maxTokens } = body.data;
    const hasImages = messages.some(
      (message) => Array.isArray(message.content) && message.content.some((part) => part.type === 'image'),
    );
    if (hasImages) await refuseImagesWithoutVision(deployment, running, metaOf);
    const abort = new AbortController();
    const parts = await cluster.stream(
      deployment,
      {
        messages: [
          ...(system ? [{ role: 'system' as const, content: system }] : []),
          ...messages.map((message) =>
            message.role === 'user' && Array.isArray(message.content)
              ? { role: 'user' as const, content: message.content as ContentPart[] }
              : message,
          ),
        ],
        ...(temperature === undefined ? {} : { temperature }),
        ...(maxTokens === undefined ? {} : { maxTokens }),
      },
      { signal: abort.signal },
    );
    return streamSSE(context, async (sse) => {
      sse.onAbort(() => abort.abort());
      for await (const part of parts) {
        if (part.type === 'audio-delta') continue;
        const data = part.type === 'error' ? { type: 'error', error: part.error.toJSON() } : part;
        await sse.writeSSE({ data: JSON.stringify(data) });
      }
    });
  });
}

/** Images go only to a deployment whose meta says it reads them (`support_vision`). */
async function refuseImagesWithoutVision(
  name: string,
  running: () => Promise<{ name: string; startedAt?: string }[]>,
  metaOf: (deployment: { name: string; startedAt?: string }) => Promise<ModelMeta | undefined>,
): Promise<void> {
  const deployment = (await running()).find((entry) => entry.name === name);
  // A deployment not running is the chat call's to report, with its own error.
  if (!deployment) return;
  const meta = await metaOf(deployment);
  if (meta?.support_vision === true) return;
  throw new InvalidArgumentError(
    `deployment ${name} does not read images (its model meta has no support_vision); ` +
      'send text only, or deploy a vision model (saas/openai takes saas.vision=true)',
  );
}
