/**
 * `POST /v1/rerank` (also `/v2/rerank`, `/rerank`): the Jina / Cohere request and answer shape
 * (`query`, `documents` as strings or `{text}`, `top_n`, `return_documents`; results with `index`
 * and `relevance_score`, best first).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { RerankRequest } from '../core/index.js';
import type { Exchange } from './exchange.js';
import { sendJson } from './http.js';
import { parseRequest } from './validate.js';

const rerankBodySchema = z.looseObject({
  model: z.string().min(1).optional(),
  query: z.string(),
  documents: z.array(z.union([z.string(), z.object({ text: z.string() })])).min(1),
  top_n: z.number().int().positive().nullish(),
  return_documents: z.boolean().nullish(),
});

export async function handleRerank(exchange: Exchange, body: Record<string, unknown>): Promise<number> {
  const parsed = parseRequest(rerankBodySchema, body);
  const model = exchange.resolveModel(parsed.model);
  const documents = parsed.documents.map((document) =>
    typeof document === 'string' ? document : document.text,
  );
  const request: RerankRequest = { query: parsed.query, documents };
  if (parsed.top_n != null) request.topN = parsed.top_n;
  const result = await exchange.callModel(model, 'rerank', request);
  const withDocuments = parsed.return_documents !== false;
  sendJson(exchange.response, 200, {
    id: randomUUID(),
    model,
    results: result.results.map((entry) => ({
      index: entry.index,
      relevance_score: entry.score,
      ...(withDocuments ? { document: { text: documents[entry.index] } } : {}),
    })),
    usage: { total_tokens: 0 },
  });
  return 200;
}
