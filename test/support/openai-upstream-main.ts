/**
 * Runs the OpenAI stand-in as its own process, for tests that need a real separate upstream
 * (CLI tests spawn it): `node dist/test/support/openai-upstream-main.js --port 0 [--api-key KEY]
 * [--delay-ms MS] [--chunk-delay-ms MS] [--no-record]`. Prints one JSON line `{"url","port","apiKey"}` on
 * stdout once listening, and runs until SIGTERM or SIGINT.
 *
 * `--port` is required: `node --test dist/test/` runs every file under a `test` folder, this one
 * included, and without arguments it must exit at once instead of serving forever.
 */
import { parseArgs } from 'node:util';
import { type OpenAIUpstreamOptions, startOpenAIUpstream } from './openai-upstream.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'api-key': { type: 'string' },
    'delay-ms': { type: 'string' },
    'chunk-delay-ms': { type: 'string' },
    'no-record': { type: 'boolean' },
  },
});

if (values.port === undefined) {
  if (!process.env.NODE_TEST_CONTEXT) {
    process.stderr.write(
      'usage: openai-upstream-main --port <port, 0 = random> [--api-key KEY] [--delay-ms MS] [--chunk-delay-ms MS] [--no-record]\n',
    );
    process.exitCode = 2;
  }
} else {
  const options: OpenAIUpstreamOptions = { port: Number(values.port) };
  if (values['api-key'] !== undefined) options.apiKey = values['api-key'];
  if (values['delay-ms'] !== undefined) options.delayMs = Number(values['delay-ms']);
  if (values['chunk-delay-ms'] !== undefined) options.chunkDelayMs = Number(values['chunk-delay-ms']);
  if (values['no-record']) options.recordRequests = false;
  const upstream = await startOpenAIUpstream(options);
  process.stdout.write(
    `${JSON.stringify({ url: upstream.url, port: upstream.port, apiKey: upstream.apiKey })}\n`,
  );
  const stop = () => {
    upstream.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
