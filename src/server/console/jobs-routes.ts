/**
 * The Jobs page's API: `GET /console/api/jobs/events?job=NAME` is a server-sent event stream of
 * `{ jobs, detail? }` (every job, and the chosen job's loss points and log), read once per refresh
 * interval while the page is open and sent only when it changed; the chart grows as steps arrive.
 */
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { UnsupportedError } from '../../core/index.js';
import type { ConsoleJobs } from './console-features.js';

export function mountJobsRoutes(app: Hono, jobs: ConsoleJobs | undefined, refreshMs: number): void {
  app.get('/console/api/jobs/events', (context) => {
    if (!jobs) throw new UnsupportedError('this console was started without training jobs');
    const chosen = context.req.query('job');
    return streamSSE(context, async (sse) => {
      let last = '';
      let open = true;
      sse.onAbort(() => {
        open = false;
      });
      while (open) {
        const view = await readView(jobs, chosen).catch((error: unknown) => ({
          error: (error as Error).message,
        }));
        const json = JSON.stringify(view);
        if (json !== last) {
          last = json;
          await sse.writeSSE({ event: 'jobs', data: json });
        }
        await sse.sleep(refreshMs);
      }
    });
  });
}

async function readView(jobs: ConsoleJobs, chosen: string | undefined) {
  const [list, detail] = await Promise.all([
    jobs.list(),
    chosen ? jobs.detail(chosen) : Promise.resolve(undefined),
  ]);
  return { jobs: list, ...(detail ? { detail } : {}) };
}
