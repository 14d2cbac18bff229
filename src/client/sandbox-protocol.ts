/**
 * What crosses between the host and the `impl` sandbox worker thread: the job (workerData) and the
 * one outcome message back. Both are JSON-shaped and the outcome is parsed with zod on the host, so a
 * confused or hostile worker can only ever produce a `reason` string.
 */
import { z } from 'zod';

export interface SandboxOptions {
  /** Wall-clock limit of the generated code. Defaults to 1000 ms. */
  timeoutMs?: number;
  /** QuickJS heap limit. Defaults to 32 MiB. */
  memoryBytes?: number;
}

export type SandboxOutcome = { ok: true; value: unknown } | { ok: false; reason: string };

export interface SandboxJob {
  source: string;
  functionName: string;
  /** The arguments object as JSON text (it was validated against the parameter schema). */
  argsJson: string;
  timeoutMs: number;
  memoryBytes: number;
}

/**
 * Messages from the worker: `ready` once QuickJS is loaded, `started` when it has the job (the
 * deadline starts: a starved thread's wait for its turn does not count), then `value` or `failure`.
 */
export const sandboxMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('started') }),
  z.object({ type: z.literal('value'), valueJson: z.string() }),
  z.object({ type: z.literal('failure'), reason: z.string().max(10_000) }),
]);
export type SandboxMessage = z.infer<typeof sandboxMessageSchema>;

export const sandboxJobSchema = z.object({
  source: z.string(),
  functionName: z.string().regex(/^[A-Za-z_$][\w$]*$/),
  argsJson: z.string(),
  timeoutMs: z.number().int().positive(),
  memoryBytes: z.number().int().positive(),
});

export function timeoutReason(timeoutMs: number): string {
  return `the generated code ran longer than ${timeoutMs} ms and was stopped`;
}
