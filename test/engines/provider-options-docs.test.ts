/**
 * docs/providers.md's per-provider parameter tables are the providers' option schemas written out:
 * this test parses each table and compares its keys, required marks and defaults (and wording) with
 * the schema the engine validates with, for every `saas/*` type the registry serves. When a schema
 * changes, `BYZERLLM_WRITE_PROVIDER_DOCS=1 node --test dist/test/engines/provider-options-docs.test.js`
 * rewrites the tables; the diff is then reviewed like code.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AWS_BEDROCK_OPTIONS } from '../../src/engines/aws-bedrock/aws-bedrock-provider.js';
import { AZURE_OPENAI_EXTRA_OPTIONS } from '../../src/engines/azure-openai/azure-openai-provider.js';
import { AZURE_TTS_OPTIONS } from '../../src/engines/azure-tts/azure-tts-provider.js';
import { BAICHUAN_DEFAULTS } from '../../src/engines/baichuan/baichuan-provider.js';
import { CLAUDE_OPTIONS } from '../../src/engines/claude/claude-provider.js';
import { GEMINI_OPTIONS } from '../../src/engines/gemini/gemini-provider.js';
import { MINIMAX_OPTIONS } from '../../src/engines/minimax/minimax-provider.js';
import { QIANFAN_OPTIONS } from '../../src/engines/qianfan/qianfan-provider.js';
import { qianwenOptions } from '../../src/engines/qianwen/qianwen-provider.js';
import { SAAS_MODEL_TYPES } from '../../src/engines/registry.js';
import { openAICompatibleOptions } from '../../src/engines/shared/openai-compatible/openai-compatible-provider.js';
import {
  baseProviderOptions,
  isRequiredOption,
  type OptionShape,
  optionMeta,
} from '../../src/engines/shared/provider-options.js';
import { SILICONFLOW_OPTIONS } from '../../src/engines/siliconflow/siliconflow-provider.js';
import { SPARKDESK_OPTIONS } from '../../src/engines/sparkdesk/sparkdesk-provider.js';
import { VOLCENGINE_OPTIONS } from '../../src/engines/volcengine/volcengine-provider.js';
import { zhipuOptions } from '../../src/engines/zhipu/zhipu-provider.js';

const DOCS = fileURLToPath(new URL('../../../docs/providers.md', import.meta.url));
const BEGIN =
  '<!-- provider options: begin (generated from the schemas; see test/engines/provider-options-docs.test.ts) -->';
const END = '<!-- provider options: end -->';

/** Each table's heading (the types it serves) and the schema behind it. */
const TABLES: [types: string[], shape: OptionShape][] = [
  [['saas/openai', 'saas/official_openai'], openAICompatibleOptions('saas/openai').shape],
  [['saas/reasoning_openai'], openAICompatibleOptions('saas/reasoning_openai').shape],
  [
    ['saas/azure_openai'],
    openAICompatibleOptions('saas/azure_openai', { extraOptions: AZURE_OPENAI_EXTRA_OPTIONS }).shape,
  ],
  [['saas/claude'], CLAUDE_OPTIONS.shape],
  [['saas/gemini'], GEMINI_OPTIONS.shape],
  [['saas/aws_bedrock'], AWS_BEDROCK_OPTIONS.shape],
  [['saas/qianwen'], qianwenOptions(false).shape],
  [['saas/qianwen_vl'], qianwenOptions(true).shape],
  [['saas/zhipu', 'saas/chatglm'], zhipuOptions().shape],
  [['saas/baichuan'], openAICompatibleOptions('saas/baichuan', BAICHUAN_DEFAULTS).shape],
  [['saas/qianfan'], QIANFAN_OPTIONS.shape],
  [['saas/minimax'], MINIMAX_OPTIONS.shape],
  [['saas/sparkdesk'], SPARKDESK_OPTIONS.shape],
  [['saas/volcengine'], VOLCENGINE_OPTIONS.shape],
  [['saas/azure'], AZURE_TTS_OPTIONS.shape],
  [['saas/siliconflow'], SILICONFLOW_OPTIONS.shape],
];

interface Row {
  key: string;
  required: boolean;
  default: string;
  meaning: string;
}

function rowsOf(shape: OptionShape): Row[] {
  return Object.entries(shape).map(([key, schema]) => {
    const meta = optionMeta(schema);
    return {
      key,
      required: isRequiredOption(schema),
      default: meta.default ?? '',
      meaning: meta.description,
    };
  });
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function render(): string {
  const sections = TABLES.map(([types, shape]) => {
    const lines = [
      `### ${types.map((type) => `\`${type}\``).join(', ')}`,
      '',
      '| key | required | default | meaning |',
      '|---|---|---|---|',
      ...rowsOf(shape).map(
        (row) =>
          `| \`${row.key}\` | ${row.required ? 'yes' : ''} | ${row.default ? `\`${cell(row.default)}\`` : ''} | ${cell(row.meaning)} |`,
      ),
    ];
    return lines.join('\n');
  });
  return [BEGIN, '', ...sections.flatMap((section) => [section, '']), END].join('\n');
}

/** The tables as docs/providers.md has them: heading → rows. */
function parseDocs(markdown: string): Map<string, Row[]> {
  const tables = new Map<string, Row[]>();
  let heading: string | undefined;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('### ')) {
      heading = line.slice(4).trim();
      tables.set(heading, []);
      continue;
    }
    const match = /^\| `(saas\.[a-z_]+)` \| (yes)? \| (?:`(.*)`)? \| (.*) \|$/.exec(line);
    if (heading && match) {
      tables.get(heading)!.push({
        key: match[1]!,
        required: match[2] === 'yes',
        default: (match[3] ?? '').replace(/\\\|/g, '|'),
        meaning: match[4]!.replace(/\\\|/g, '|'),
      });
    }
  }
  return tables;
}

test("docs/providers.md lists each provider's options exactly as its schema declares them", () => {
  let markdown = fs.readFileSync(DOCS, 'utf8');
  const begin = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  assert.ok(begin >= 0 && end > begin, 'docs/providers.md has the generated provider options section');
  if (process.env.BYZERLLM_WRITE_PROVIDER_DOCS === '1') {
    markdown = markdown.slice(0, begin) + render() + markdown.slice(end + END.length);
    fs.writeFileSync(DOCS, markdown);
  }
  const documented = parseDocs(markdown.slice(markdown.indexOf(BEGIN), markdown.indexOf(END)));
  for (const [types, shape] of TABLES) {
    const heading = types.map((type) => `\`${type}\``).join(', ');
    assert.deepEqual(documented.get(heading), rowsOf(shape), `the table of ${heading}`);
  }
  assert.equal(documented.size, TABLES.length, 'no table for a provider that does not exist');
});

test('every saas/* type the registry serves has a documented options table', () => {
  const covered = TABLES.flatMap(([types]) => types).sort();
  assert.deepEqual(covered, [...SAAS_MODEL_TYPES].sort());
});

test('every HTTP provider takes the shared base options, saas.proxies included', () => {
  for (const [types, shape] of TABLES) {
    const missing = Object.keys(baseProviderOptions).filter((key) => !(key in shape));
    // SparkDesk speaks WebSocket, one socket per request: it declares that it cannot take a proxy.
    assert.deepEqual(missing, types.includes('saas/sparkdesk') ? ['saas.proxies'] : [], types.join(', '));
  }
});
