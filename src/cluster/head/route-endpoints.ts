/**
 * The admin API's routing config endpoints (`byzerllm route set|get|list|rm`, `route stat`), over
 * the head's `Governance`. Bodies are route configs, validated by `Governance.set` with the zod
 * schema (a 400 naming the bad field).
 */
import type { Context, Hono } from 'hono';
import { NotFoundError } from '../../core/index.js';
import type { Governance } from '../governance/index.js';

/** A route as the head lists it (`byzerllm route list`): its virtual model name and its config. */
export interface RouteSummary {
  name: string;
  /** The routing config as stored; a reader parses it (`parseRouteConfig`) before using it. */
  config: unknown;
}

export function registerRouteEndpoints(
  app: Hono,
  governance: Governance,
  readJson: (context: Context) => Promise<unknown>,
): void {
  app.get('/admin/v1/routes', (context) =>
    context.json(
      governance.list().map((route): RouteSummary => ({ name: route.name, config: route.config })),
    ),
  );
  app.get('/admin/v1/route-stat', (context) => context.json(governance.stat()));
  // Route names may hold `/` (as model names do): the rest of the path is the name.
  app.get('/admin/v1/routes/:name{.+}', (context) => {
    const name = context.req.param('name');
    const route = governance.route(name);
    if (!route) throw new NotFoundError(`no route named ${name}; \`byzerllm route list\` shows the routes`);
    return context.json({ name, config: route.config } satisfies RouteSummary);
  });
  app.put('/admin/v1/routes/:name{.+}', async (context) => {
    const { created } = await governance.set(context.req.param('name'), await readJson(context));
    return context.json({ name: context.req.param('name'), created });
  });
  app.delete('/admin/v1/routes/:name{.+}', async (context) =>
    context.json({ removed: await governance.remove(context.req.param('name')) }),
  );
}
