/**
 * A worker process that misbehaves on the IPC channel: before every real message it sends the head
 * malformed ones — junk values, unknown types, and, for the request it is answering, a `failed`
 * with a broken error, a `result` with a broken id and a stream part of the wrong shape (inside a
 * `batch` too, beside the real messages, and a batch that is not a list). Then it runs
 * the real worker (`worker-main`). The head must drop every malformed message and still serve.
 * Run only as a forked worker; anywhere else (e.g. picked up by the test runner) it exits quietly.
 */
if (!process.send) process.exit(0);

const realSend = process.send.bind(process) as (message: unknown) => boolean;

function garbage(message: unknown): unknown[] {
  const id = (message as { id?: unknown }).id;
  const aimed =
    typeof id === 'number'
      ? [
          { type: 'failed', id, error: { message: 'forged', code: 42 } },
          { type: 'part', id, part: { type: 'text-delta', delta: 7 } },
          { type: 'part', id, part: { type: 'no-such-part' } },
          { type: 'result', id: -id },
        ]
      : [];
  return ['junk', null, 17, {}, { type: 'warn', message: 5 }, { type: 'start-failed' }, ...aimed];
}

/** A batch gets the garbage aimed at each of its messages, inside the batch and before it. */
function garble(message: unknown): unknown {
  const inner = (message as { type?: unknown; messages?: unknown[] }).messages;
  if ((message as { type?: unknown }).type !== 'batch' || !Array.isArray(inner)) return message;
  for (const each of inner) for (const junk of garbage(each)) realSend(junk);
  return { type: 'batch', messages: inner.flatMap((each) => [...garbage(each), each]) };
}

process.send = ((message: unknown, ...rest: unknown[]) => {
  for (const junk of garbage(message)) realSend(junk);
  realSend({ type: 'batch', messages: 'not a list' });
  return (realSend as (...parameters: unknown[]) => boolean)(garble(message), ...rest);
}) as typeof process.send;

await import('../../src/cluster/worker/worker-main.js');
