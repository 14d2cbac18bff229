/**
 * The built-in model table of `easy-byzerllm` (Byzer-LLM's table, kept by name, plus current models).
 * `${MODEL_TOKEN}` in params is replaced by `--token`.
 */
export interface EasyModel {
  pretrainedModelType: string;
  /** The provider's model id (`saas.model`). */
  model: string;
  baseUrl?: string;
}

const SILICONFLOW = 'https://api.siliconflow.cn/v1';
const DEEPSEEK = 'https://api.deepseek.com/v1';

/** A model on an OpenAI-compatible host other than OpenAI: its id is also its table name. */
function openAiCompatible(model: string, baseUrl: string, pretrainedModelType = 'saas/openai'): EasyModel {
  return { pretrainedModelType, model, baseUrl };
}

export const EASY_MODELS: Record<string, EasyModel> = {
  'gpt-3.5-turbo-0125': { pretrainedModelType: 'saas/openai', model: 'gpt-3.5-turbo-0125' },
  'text-embedding-3-small': { pretrainedModelType: 'saas/openai', model: 'text-embedding-3-small' },
  gpt4o: { pretrainedModelType: 'saas/openai', model: 'gpt-4o' },
  'gpt-4o': { pretrainedModelType: 'saas/openai', model: 'gpt-4o' },
  'gpt-4o-mini': { pretrainedModelType: 'saas/openai', model: 'gpt-4o-mini' },
  'deepseek-chat': openAiCompatible('deepseek-chat', DEEPSEEK),
  'deepseek-coder': openAiCompatible('deepseek-coder', DEEPSEEK),
  'deepseek-reasoner': openAiCompatible('deepseek-reasoner', DEEPSEEK),
  'moonshot-v1-32k': openAiCompatible(
    'moonshot-v1-32k',
    'https://api.moonshot.cn/v1',
    'saas/official_openai',
  ),
  'qwen1.5-32b-chat': { pretrainedModelType: 'saas/qianwen', model: 'qwen1.5-32b-chat' },
  'qwen-max': { pretrainedModelType: 'saas/qianwen', model: 'qwen-max' },
  'alibaba/Qwen1.5-110B-Chat': openAiCompatible('alibaba/Qwen1.5-110B-Chat', SILICONFLOW),
  'deepseek-ai/deepseek-v2-chat': openAiCompatible('deepseek-ai/deepseek-v2-chat', SILICONFLOW),
  'alibaba/Qwen2-72B-Instruct': openAiCompatible('alibaba/Qwen2-72B-Instruct', SILICONFLOW),
  'qwen-vl-chat-v1': { pretrainedModelType: 'saas/qianwen_vl', model: 'qwen-vl-chat-v1' },
  'qwen-vl-max': { pretrainedModelType: 'saas/qianwen_vl', model: 'qwen-vl-max' },
  'yi-vision': openAiCompatible('yi-vision', 'https://api.lingyiwanwu.com/v1'),
  'sonnet3.5': { pretrainedModelType: 'saas/claude', model: 'claude-3-5-sonnet-20240620' },
};

/** A deployment name for a model id: characters a name cannot hold (`.`, `/`, …) become `_`. */
export function instanceNameFor(model: string): string {
  return model.replace(/[^A-Za-z0-9_-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
}
