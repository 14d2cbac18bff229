/**
 * Runs one example against your deployments and prints its result as JSON:
 *
 *   node dist/examples/run-example.js hello-world --model deepseek_chat [--address auto|http://HOST:PORT]
 *   node dist/examples/run-example.js multimodal --model gpt4o_mini_chat ./cat.png
 *
 * Arguments after the example name (other than the flags) are passed to its `main` after the client.
 * `simple-byzer-llm` and `hello` take no client: `run-example.js simple-byzer-llm BASE_URL API_KEY`,
 * `run-example.js hello MODEL_NAME [KEYS_DIRECTORY]` (lite mode, the models registry).
 */
import { parseArgs } from 'node:util';
import { ByzerLLM } from '../src/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string', default: 'deepseek_chat' },
    address: { type: 'string', default: 'auto' },
  },
});
const [name, ...rest] = positionals;
if (!name || !/^[a-z-]+$/.test(name)) {
  console.error(
    'usage: run-example.js <example-name> [--model NAME] [--address auto|http://HOST:PORT] [args…]',
  );
  process.exit(2);
}
const example = (await import(`./${name}.js`)) as { main: (...args: unknown[]) => Promise<unknown> };
const llm = ByzerLLM.fromDefaultModel(values.model, { address: values.address });
try {
  const withoutClient = name === 'simple-byzer-llm' || name === 'hello';
  const result = withoutClient ? await example.main(...rest) : await example.main(llm, ...rest);
  console.log(JSON.stringify(result, null, 2));
} finally {
  await llm.close();
}
