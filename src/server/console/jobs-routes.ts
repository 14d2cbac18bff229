/**
 * The Jobs page's API: `GET /console/api/jobs/events?job=NAME` is a server-sent event stream of
 * `{ jobs, detail? }` (every job, and the chosen job's loss points and log), read once per refresh
 * interval by one poll shared by every open page (`JobsEvents`) and sent only when it changed; the
 * chart grows as steps arrive.
 */
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { UnsupportedError } from '../../core/index.js';
import type { ConsoleJobs } from './console-features.js';
import { JobsEvents } from './jobs-events.js';

/** Mounts the route; returns its shared poll (undefined without jobs), which the console closes. */
export function mountJobsRoutes(
  app: Hono,
  jobs: ConsoleJobs | undefined,
  refreshMs: number,
): JobsEvents | undefined {
  const events = jobs ? new JobsEvents(jobs, refreshMs) : undefined;
  app.get('/console/api/jobs/events', (context) => {
    if (!events) throw new UnsupportedError('this console was started without training jobs');
    const chosen = context.req.query('job');
    return streamSSE(context, async (sse) => {
      const unsubscribe = events.subscribe(chosen, (json) => {
        void sse.writeSSE({ event: 'jobs', data: json });
      });
      // Left at once when the page goes: the last page to leave stops the poll.
      await new Promise<void>((resolve) =>
        sse.onAbort(() => {
          unsubscribe();
          resolve();
        }),
      );
    });
  });
  return events;
}
