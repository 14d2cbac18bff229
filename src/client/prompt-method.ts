/**
 * `@promptMethod`: prompt functions as class methods (byzer-spec §4.3, Byzer-LLM's `@byzerllm.prompt`
 * on a method), and `promptLazy` (Byzer-LLM's older `prompt_lazy`): a prompt function whose
 * configuration is made per call.
 */
import { InvalidArgumentError } from '../core/index.js';
import {
  type BodyResult,
  prompt,
  type PromptCallOptions,
  type PromptFunction,
  type PromptLlm,
  type PromptOptions,
  type Variables,
} from './prompt-function.js';

/**
 * Decorator for class methods: the method body computes extra template variables (it may use
 * `this`); the llm may come from the instance (`llm: (self) => self.llm`). On each instance the
 * method becomes a callable prompt function: calling it runs it (or renders it when no llm is
 * set); `asPrompt(instance.method)` gives the typed `PromptFunction` with `.prompt/.run/.with…`.
 */
export function promptMethod<This, Args extends Variables>(
  template: string,
  options: {
    llm?: PromptLlm | string | ((self: This) => PromptLlm);
    options?: PromptCallOptions;
    render?: 'jinja2' | 'simple';
  } = {},
) {
  return (
    method: (this: This, args: Args) => BodyResult,
    context: ClassMethodDecoratorContext<This, (this: This, args: Args) => unknown>,
  ): void => {
    context.addInitializer(function (this: This) {
      const llmOption = options.llm;
      // Initializers run before the constructor body: read `self.llm` when the method is called.
      const llm = typeof llmOption === 'function' ? () => llmOption(this) : llmOption;
      const bound = prompt<Args>(template, {
        ...(llm === undefined ? {} : { llm }),
        body: (args) => method.call(this, args),
        ...(options.options ? { options: options.options } : {}),
        ...(options.render ? { render: options.render } : {}),
      });
      const callable = Object.assign(
        (args: Args) => (bound.hasLlm() ? bound.run(args) : bound.prompt(args)),
        { [PROMPT_FUNCTION]: bound },
      );
      Object.defineProperty(this, context.name, { value: callable, writable: true, configurable: true });
    });
  };
}

const PROMPT_FUNCTION = Symbol('byzerllm.promptFunction');

/** The `PromptFunction` behind a `@promptMethod` method of an instance. */
export function asPrompt<Args extends Variables>(
  method: (args: Args) => unknown,
): PromptFunction<Args, string> {
  const found = (method as unknown as { [PROMPT_FUNCTION]?: PromptFunction<Args, string> })[PROMPT_FUNCTION];
  if (!found) throw new InvalidArgumentError('asPrompt expects a method decorated with @promptMethod');
  return found;
}

/** One call of a `promptLazy` function: configure it, then render or run it. */
export interface LazyPrompt<Result = string> {
  options(options: PromptCallOptions): LazyPrompt<Result>;
  withLlm(llm: PromptLlm | string): LazyPrompt<Result>;
  /** The rendered prompt. */
  prompt(): string;
  run(): Promise<Result>;
}

/**
 * Byzer-LLM's `prompt_lazy`: calling the function binds the arguments and returns a `LazyPrompt`
 * whose configuration (`options`, `withLlm`) belongs to that call only.
 *
 *   const hello = promptLazy<{ q: string }>('你好, {{ q }}', { llm });
 *   await hello({ q: '你是谁' }).options({ llm_config: { max_length: 100 } }).run();
 */
export function promptLazy<Args extends Variables = Variables>(
  template: string,
  options: PromptOptions<Args> = {},
): (args: Args) => LazyPrompt {
  const base = prompt<Args>(template, options);
  return (args) => lazyCall(base, args);
}

function lazyCall<Args extends Variables, Result>(
  configured: PromptFunction<Args, Result>,
  args: Args,
): LazyPrompt<Result> {
  return {
    options: (options) => lazyCall(configured.options(options), args),
    withLlm: (llm) => lazyCall(configured.withLlm(llm), args),
    prompt: () => configured.prompt(args),
    run: () => configured.run(args),
  };
}
