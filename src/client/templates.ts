/**
 * Chat templates for engines that take one raw prompt (meta `message_format: false`).
 *
 * A template flattens a conversation into a prompt string (`format`), carries generation defaults
 * (merged under each request's `llm_config`), stop strings, and a clean function applied to every
 * output. `"auto"` means "the engine's own template": nothing is flattened on the client.
 *
 * Flattening (byzer-spec §6.2, with Byzer-LLM's bugs fixed): each message becomes its role prefix +
 * content (or the role's function); lines are joined with `\n`; when the last message is from the
 * user, a final assistant prefix invites the answer. Byzer-LLM's llama template printed a literal
 * `{v}` instead of the message; here it renders the Llama-2 chat format properly.
 */
import type { ChatMessage } from '../core/index.js';
import type { LlmConfig } from './llm-config.js';

export interface RoleMapping {
  userRole: string;
  assistantRole: string;
  /** The system line; `{{system_msg}}` is replaced by the system message. */
  systemMsg: string;
  userRoleFunc?: (role: string, content: string) => string;
  assistantRoleFunc?: (role: string, content: string) => string;
  systemMsgFunc?: (template: string, content: string) => string;
}

export interface Template {
  name: string;
  roleMapping: RoleMapping;
  /** Defaults merged under each request's `llm_config` (e.g. `generation.repetition_penalty`). */
  generationConfig: LlmConfig;
  /** Applied to every output and to the accumulated text of streams. */
  cleanFunc: (text: string) => string;
}

const identity = (text: string) => text;

/** Cuts the text at the first of the given markers. */
function cutAt(markers: string[]): (text: string) => string {
  return (text) => {
    let end = text.length;
    for (const marker of markers) {
      const index = text.indexOf(marker);
      if (index >= 0 && index < end) end = index;
    }
    return text.slice(0, end);
  };
}

function contentText(message: ChatMessage): string {
  if (typeof message.content === 'string') return message.content;
  return message.content
    .map((part) => (part.type === 'text' ? part.text : `<_${part.type}_>${part.url}</_${part.type}_>`))
    .join('\n');
}

/** Flattens messages into one prompt with a template's role mapping (§6.2, fixed). */
export function applyTemplate(template: Template, messages: readonly ChatMessage[]): string {
  const mapping = template.roleMapping;
  const lines = messages.map((message) => {
    const content = contentText(message);
    switch (message.role) {
      case 'system':
        return mapping.systemMsgFunc
          ? mapping.systemMsgFunc(mapping.systemMsg, content)
          : mapping.systemMsg.replace('{{system_msg}}', content);
      case 'user':
        return mapping.userRoleFunc
          ? mapping.userRoleFunc(mapping.userRole, content)
          : mapping.userRole + content;
      case 'assistant':
        return mapping.assistantRoleFunc
          ? mapping.assistantRoleFunc(mapping.assistantRole, content)
          : mapping.assistantRole + content;
      default:
        return mapping.userRole + content;
    }
  });
  const last = messages.at(-1);
  // A last assistant message is a prefix to continue: no new assistant turn after it.
  if ((last?.role === 'user' || last?.role === 'tool') && mapping.assistantRole !== '')
    lines.push(mapping.assistantRole);
  return lines.join('\n');
}

const CHATML = {
  userRole: '<|im_start|>user\n',
  assistantRole: '<|im_end|>\n<|im_start|>assistant\n',
  systemMsg: '<|im_start|>system\n{{system_msg}}<|im_end|>',
};

export const Templates = {
  /** Qwen (ChatML) with Qwen's stop tokens and a repetition penalty. */
  qwen(): Template {
    return {
      name: 'qwen',
      roleMapping: { ...CHATML },
      generationConfig: {
        'generation.repetition_penalty': 1.1,
        'generation.stop_token_ids': [151643, 151645],
      },
      cleanFunc: cutAt(['<|im_end|>', '<|endoftext|>', '<|im_start|>']),
    };
  },
  /** Yi: ChatML strings with Yi's stop token. */
  yi(): Template {
    return {
      name: 'yi',
      roleMapping: { ...CHATML },
      generationConfig: { 'generation.stop_token_ids': [7] },
      cleanFunc: identity,
    };
  },
  /** Llama 2 chat: `<s>[INST] … [/INST] answer </s>`, system wrapped in `<<SYS>>`. */
  llama(): Template {
    return {
      name: 'llama',
      roleMapping: {
        userRole: '',
        assistantRole: '',
        systemMsg: '<s>[INST] <<SYS>>\n{{system_msg}}\n<</SYS>>\n[/INST]</s>',
        userRoleFunc: (_role, content) => `<s>[INST] ${content} [/INST]`,
        assistantRoleFunc: (_role, content) => `${content} </s>`,
      },
      generationConfig: { 'gen.stop': ['</s>'] },
      cleanFunc: cutAt(['</s>']),
    };
  },
  /** `User:` / `Assistant:` lines with the default helpful-assistant system text. */
  default(): Template {
    return {
      name: 'default',
      roleMapping: {
        userRole: 'User:',
        assistantRole: 'Assistant:',
        systemMsg: '{{system_msg}}',
      },
      generationConfig: {},
      cleanFunc: identity,
    };
  },
  /** Contents concatenated with no role markers. */
  empty(): Template {
    return {
      name: 'empty',
      roleMapping: { userRole: '', assistantRole: '', systemMsg: '{{system_msg}}' },
      generationConfig: {},
      cleanFunc: identity,
    };
  },
};

/** What `setupTemplate` accepts: a template, or `"auto"` for the engine's own. */
export type TemplateChoice = Template | 'auto';

/** The built-in template of a name (`TEMPLATE_NAMES` of a deployment), or `auto`. */
export function templateByName(name: string): TemplateChoice {
  switch (name) {
    case 'qwen':
      return Templates.qwen();
    case 'yi':
      return Templates.yi();
    case 'llama':
      return Templates.llama();
    case 'default':
      return Templates.default();
    case 'empty':
      return Templates.empty();
    default:
      return 'auto';
  }
}
