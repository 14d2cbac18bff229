/**
 * The CLI's user-facing lines in English and Chinese, as Byzer-LLM's CLI had them: the language
 * comes from `LANG` (a value starting with `zh` → Chinese, anything else → English; read on every
 * call, so tests and `LANG=zh_CN.UTF-8 byzerllm …` choose it per process). Machine-readable output
 * (`--json`, the JSON of `stat` when stdout is not a terminal) never changes with the language.
 */
type Catalogue = Record<string, { en: string; zh: string }>;

const MESSAGES = {
  deployed: { en: 'Model {0} deployed successfully', zh: '模型 {0} 部署成功' },
  alreadyDeployed: { en: 'Model {0} already deployed', zh: '模型 {0} 已经部署过了' },
  undeployed: { en: 'Model {0} undeployed successfully', zh: '模型 {0} 卸载成功' },
  statStopped: { en: 'Stat printing stopped.', zh: '已停止打印统计信息。' },
  statTitle: { en: 'Model Stat', zh: '模型状态' },
  headStarted: { en: 'no head was running: started one', zh: '没有正在运行的 head：已启动一个' },
  error: { en: 'error: {0}', zh: '错误：{0}' },
  warning: { en: 'warning: {0}', zh: '警告：{0}' },
  internalHint: {
    en: '(this looks like a bug in byzerllm; set BYZERLLM_DEBUG=1 to see the stack and report it)',
    zh: '（这看起来是 byzerllm 的缺陷；设置 BYZERLLM_DEBUG=1 查看调用栈并报告）',
  },
} satisfies Catalogue;

export type MessageKey = keyof typeof MESSAGES;

/** `zh` when `LANG` starts with `zh`, else `en`. */
export function cliLanguage(environment: NodeJS.ProcessEnv = process.env): 'en' | 'zh' {
  return (environment.LANG ?? '').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

/** The message in the CLI's language, `{0}`, `{1}`, … replaced by the values. */
export function message(key: MessageKey, ...values: (string | number)[]): string {
  const text = MESSAGES[key][cliLanguage()];
  return text.replace(/\{(\d+)\}/g, (whole, index: string) => String(values[Number(index)] ?? whole));
}
