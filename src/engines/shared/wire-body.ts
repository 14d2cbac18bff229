import type { z } from 'zod';
import { UpstreamError } from '../../core/errors.js';

/** Validates an upstream body; a shape we cannot use becomes `upstream_error` naming the first issue. */
export function parseWireBody<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  context: { provider: string; what: string },
): z.infer<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  throw new UpstreamError(
    'upstream_error',
    `${context.provider} sent an unexpected ${context.what}${where}: ${issue?.message ?? 'invalid shape'}`,
    { details: { provider: context.provider } },
  );
}
