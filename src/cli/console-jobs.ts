/**
 * The console's view of the training jobs: those on this machine (`$BYZERLLM_HOME/jobs`, as `byzerllm
 * jobs` shows them) and, on a NATS cluster's head, those the head placed on nodes (as `byzerllm jobs
 * --address` shows them, read from the head's job registry in this process): the list, and one
 * job's loss points and log lines for its chart and log panel.
 *
 * A job the head placed on its own machine's node is also in `$BYZERLLM_HOME/jobs`: the placed
 * record wins (it names the node), so each job is listed once.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
  type JobProgressEvent,
  type NatsClusterClient,
  type PlacedJobRecord,
  type PlacedJobsView,
  resolveStateDirectory,
} from '../cluster/index.js';
import { NotFoundError } from '../core/index.js';
import type { ConsoleJobDetail, ConsoleJobs, ConsoleJobSummary } from '../server/index.js';
import { jobDirectory, listTrainingJobs, readTrainingProgress } from '../train/index.js';

/** Log lines sent to the page: the newest ones. */
const LOG_LINES = 200;
/** Bytes read from the end of each log file. */
const LOG_TAIL_BYTES = 16 * 1024;

/**
 * A progress event as the page shows it. The head's own events (a status it decided, a deployment)
 * carry no `time`; every node event does.
 */
const shownEventSchema = z.looseObject({ event: z.string(), time: z.string().optional() });
type ShownEvent = z.infer<typeof shownEventSchema>;

/** What the Jobs page reads of a node runner's record (the cluster layer checks only name and status). */
const placedRecordSchema = z.looseObject({
  kind: z.string(),
  createdAt: z.string(),
  lastStep: z.object({ step: z.number(), totalSteps: z.number(), loss: z.number().nullable() }).optional(),
});

export function createConsoleJobs(
  options: {
    placed?: PlacedJobsView;
    /** List this machine's `$BYZERLLM_HOME/jobs` too. Defaults to true; false off the head's machine. */
    local?: boolean;
  } = {},
): ConsoleJobs {
  const { placed, local = true } = options;
  return {
    async list() {
      const onNodes = ((await placed?.list()) ?? []).map(placedSummary);
      const names = new Set(onNodes.map((job) => job.name));
      const here = (local ? await listTrainingJobs() : [])
        .filter((record) => !names.has(record.name))
        .map((record) => summary(record));
      return [...onNodes, ...here].sort((left, right) => right.createdAt.localeCompare(left.createdAt));
    },
    async detail(name) {
      const placedEvents = await placed?.events(name);
      if (!placedEvents && !local) throw new NotFoundError(`training job ${name} is not known to the head`);
      if (placedEvents) {
        const events = shownEvents(placedEvents);
        return { points: lossPoints(events), log: events.map(eventLine).slice(-LOG_LINES) };
      }
      const events = shownEvents(await readTrainingProgress(name));
      const logs = path.join(jobDirectory(resolveStateDirectory(), name), 'logs');
      const files = ['supervisor.log', 'worker-0.log'];
      const tails = await Promise.all(files.map((file) => tail(path.join(logs, file))));
      return {
        points: lossPoints(events),
        log: [
          ...events.map(eventLine),
          ...tails.flatMap((lines, index) => lines.map((line) => `${files[index]}: ${line}`)),
        ].slice(-LOG_LINES),
      };
    },
  };
}

/**
 * The head's jobs read over NATS, for a console outside the head (`byzerllm console --address
 * nats://…`). Events are kept per job and only the new ones asked for on each read: the page reads
 * once a second, and a long job has thousands of events.
 */
export function placedJobsOverNats(client: NatsClusterClient): PlacedJobsView {
  const held = new Map<string, JobProgressEvent[]>();
  return {
    list: () => client.listTrainingJobs(),
    async events(name, from = 0) {
      const known = held.get(name) ?? [];
      const fresh = await client.readTrainingProgress(name, known.length).catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      });
      if (!fresh) {
        held.delete(name);
        return undefined;
      }
      const events = [...known, ...fresh];
      held.set(name, events);
      return events.slice(from);
    },
  };
}

function summary(record: {
  name: string;
  kind: string;
  status: string;
  createdAt: string;
  reason?: string | undefined;
  lastStep?: ConsoleJobSummary['lastStep'] | undefined;
}): ConsoleJobSummary {
  return {
    name: record.name,
    kind: record.kind,
    status: record.status,
    createdAt: record.createdAt,
    ...(record.reason ? { reason: record.reason } : {}),
    ...(record.lastStep ? { lastStep: record.lastStep } : {}),
  };
}

/**
 * A placed job's record is the node runner's record plus the head's `node` and `nodes`; one a node
 * sent in another shape still shows its name, status and node.
 */
function placedSummary(record: PlacedJobRecord): ConsoleJobSummary {
  const parsed = placedRecordSchema.safeParse(record);
  const read = parsed.success ? parsed.data : { kind: '?', createdAt: '' };
  const base = summary({ ...read, name: record.name, status: record.status, reason: record.reason });
  const nodes = record.nodes?.map((share) => share.node);
  return { ...base, node: record.node, ...(nodes && nodes.length > 1 ? { nodes } : {}) };
}

function shownEvents(events: readonly Record<string, unknown>[]): ShownEvent[] {
  return events.flatMap((event) => {
    const parsed = shownEventSchema.safeParse(event);
    return parsed.success ? [parsed.data] : [];
  });
}

function lossPoints(events: ShownEvent[]): ConsoleJobDetail['points'] {
  const byStep = new Map<number, ConsoleJobDetail['points'][number]>();
  for (const event of events) {
    if (typeof event.step !== 'number') continue;
    if (event.event === 'step') {
      const loss = typeof event.loss === 'number' ? event.loss : null;
      byStep.set(event.step, { ...byStep.get(event.step), step: event.step, loss });
    } else if (event.event === 'eval' && typeof event.eval_loss === 'number') {
      const known = byStep.get(event.step) ?? { step: event.step, loss: null };
      byStep.set(event.step, { ...known, evalLoss: event.eval_loss });
    }
  }
  return [...byStep.values()].sort((left, right) => left.step - right.step);
}

/**
 * `2026-12-07T20:08:13Z step step=2 loss=7.67 …`: numbers shortened, the time to seconds; the
 * head's own events start with `head`.
 */
function eventLine(event: ShownEvent): string {
  const fields = Object.entries(event)
    .filter(([key]) => key !== 'time' && key !== 'event' && key !== 'source')
    .map(
      ([key, value]) =>
        `${key}=${typeof value === 'number' ? Number(value.toPrecision(5)) : JSON.stringify(value)}`,
    );
  const when = event.time ? `${event.time.slice(0, 19)}Z` : event.source === 'head' ? 'head' : '-';
  return `${when} ${event.event} ${fields.join(' ')}`.trimEnd();
}

async function tail(file: string): Promise<string[]> {
  const handle = await fs.open(file, 'r').catch(() => undefined);
  if (!handle) return [];
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '');
    // A cut first line is dropped: the tail starts at a line boundary.
    return size > length ? lines.slice(1) : lines;
  } finally {
    await handle.close();
  }
}
