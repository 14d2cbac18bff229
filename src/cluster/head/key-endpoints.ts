/**
 * The admin API's virtual key and rate limit endpoints (`byzerllm keys …`, `byzerllm limits …`),
 * over the head's `AccessControl`. Bodies are checked with the key settings' and limits' zod
 * schemas (a 400 naming the bad field). A created key's secret is in the `POST` answer only.
 */
import type { Context, Hono } from 'hono';
import { InvalidArgumentError } from '../../core/index.js';
import type { AccessControl, RateLimits } from '../governance/index.js';
import { rateLimitsSchema, viewOf } from '../governance/index.js';

export function registerKeyEndpoints(
  app: Hono,
  control: AccessControl,
  readJson: (context: Context) => Promise<unknown>,
): void {
  const keys = control.keys;
  app.get('/admin/v1/keys', (context) => context.json(keys.list()));
  app.get('/admin/v1/keys/:id', (context) => context.json(viewOf(keys.get(context.req.param('id')))));
  app.post('/admin/v1/keys', async (context) => {
    const created = await keys.create((await readJson(context)) as never);
    control.refresh();
    return context.json(created);
  });
  app.delete('/admin/v1/keys/:id', async (context) =>
    context.json(await keys.revoke(context.req.param('id'))),
  );
  app.get('/admin/v1/limits', (context) => context.json(Object.fromEntries(keys.deploymentLimits)));
  // Model names may hold `/` (routes do): the rest of the path is the name.
  app.put('/admin/v1/limits/:name{.+}', async (context) => {
    const parsed = rateLimitsSchema.safeParse(await readJson(context));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InvalidArgumentError(`invalid limits ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    await keys.setDeploymentLimits(context.req.param('name'), parsed.data);
    control.refresh();
    return context.json({ name: context.req.param('name'), limits: parsed.data satisfies RateLimits });
  });
  app.delete('/admin/v1/limits/:name{.+}', async (context) => {
    const removed = keys.deploymentLimits.has(context.req.param('name'));
    await keys.setDeploymentLimits(context.req.param('name'), undefined);
    control.refresh();
    return context.json({ removed });
  });
}
