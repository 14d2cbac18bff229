/**
 * Which chat models read images, by the upstream's model name: `ModelMeta.support_vision` for an
 * engine whose messages carry image parts (OpenAI `image_url`, Anthropic `image` blocks) when the
 * deployment does not say (`saas.vision`). The console offers its attach-image control only then.
 *
 * The vendors' vision families: OpenAI's gpt-4o/4.1/4.5/5, o1/o3/o4 (not the minis of o1 and o3),
 * gpt-4-turbo and -vision; Claude 3 and later; Gemini; and open models named for it (`*vision*`,
 * `*-vl*`, glm-4v, llava, pixtral, qvq, internvl, minicpm-v, gemma-3, llama-4). A model not named here
 * is taken to read text only: an unknown name offers no control rather than one that fails.
 */
const VISION_MODEL_PATTERNS: readonly RegExp[] = [
  /^(chatgpt|gpt)-4o/,
  /^gpt-4\.(1|5)/,
  /^gpt-4-turbo/,
  /^gpt-5/,
  /^o1(?!-mini)/,
  /^o3(?!-mini)/,
  /^o4/,
  /vision/,
  /(^|[-_/.])vl/,
  /glm-4(\.\d+)?v/,
  /llava|pixtral|qvq|internvl|minicpm-v/,
  /gemma-3|llama-4/,
  /claude-(3|sonnet|opus|haiku)/,
  /gemini/,
];

/** Whether the model `name` (any case, with or without a vendor prefix such as `openai/`) reads images. */
export function isVisionModel(name: string): boolean {
  const model = name.toLowerCase();
  const base = model.slice(model.lastIndexOf('/') + 1);
  return VISION_MODEL_PATTERNS.some((pattern) => pattern.test(base));
}

/**
 * Hugging Face architectures (config.json `architectures`) of models that read images, for local
 * engines that serve a model folder (vLLM's multimodal models): the vision-language classes are
 * named for it (`Qwen2VL…`, `Llava…`, `Mllama…`, `InternVL…`, `Idefics…`, …).
 */
const VISION_ARCHITECTURE_PATTERN =
  /VL|Llava|Mllama|Vision|Pixtral|Idefics|PaliGemma|MiniCPMV|Phi3V|Phi4MM|Molmo|Gemma3ForConditionalGeneration|Llama4ForConditionalGeneration/;

export function isVisionArchitecture(architectures: readonly string[]): boolean {
  return architectures.some((name) => VISION_ARCHITECTURE_PATTERN.test(name));
}
