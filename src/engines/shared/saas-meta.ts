import type { ModelMeta } from '../../core/models.js';

/**
 * The meta of a SaaS chat model, with what holds for nearly every provider filled in: streaming,
 * message lists in, the provider's own chat template, no assistant prefix, chat only. A provider
 * states its model name and what differs.
 */
export function saasMeta(fields: Partial<ModelMeta> & Pick<ModelMeta, 'model_name'>): ModelMeta {
  return {
    model_deploy_type: 'saas',
    backend: 'saas',
    support_stream: true,
    support_chat_template: true,
    message_format: true,
    support_assistant_prefix: false,
    embedding_mode: false,
    tasks: ['chat'],
    ...fields,
  };
}
