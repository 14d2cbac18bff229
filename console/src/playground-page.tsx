import { useRef, useState } from 'preact/hooks';
import { ApiError, type ChatInput, type Snapshot, streamChat } from './api.js';

interface Turn {
  role: 'user' | 'assistant';
  content: string;
  reasoning?: string;
  error?: string;
}

/** Chat with any deployment; answers stream in as they arrive, reasoning shown apart. */
export function PlaygroundPage({ snapshot }: { snapshot: Snapshot | undefined }) {
  const deployments = (snapshot?.status.deployments ?? []).filter((entry) => entry.state === 'running');
  const [chosen, setChosen] = useState('');
  const [system, setSystem] = useState('');
  const [temperature, setTemperature] = useState('');
  const [maxTokens, setMaxTokens] = useState('');
  const [draft, setDraft] = useState('');
  const [turns, setTurns] = useState<Turn[]>([]);
  const [streaming, setStreaming] = useState(false);
  const abort = useRef<AbortController | undefined>(undefined);
  const deployment = chosen || deployments[0]?.name || '';

  const input = (messages: Turn[]): ChatInput => ({
    deployment,
    ...(system ? { system } : {}),
    messages: messages.map(({ role, content }) => ({ role, content })),
    ...(temperature === '' ? {} : { temperature: Number(temperature) }),
    ...(maxTokens === '' ? {} : { maxTokens: Number(maxTokens) }),
  });

  const send = async (event: Event) => {
    event.preventDefault();
    if (!draft.trim() || !deployment) return;
    const history: Turn[] = [...turns, { role: 'user', content: draft }];
    let answer: Turn = { role: 'assistant', content: '' };
    setTurns([...history, answer]);
    setDraft('');
    setStreaming(true);
    abort.current = new AbortController();
    const update = (next: Turn) => {
      answer = next;
      setTurns([...history, answer]);
    };
    try {
      await streamChat(
        input(history),
        (part) => {
          if (part.type === 'text-delta') update({ ...answer, content: answer.content + part.delta });
          else if (part.type === 'reasoning-delta')
            update({ ...answer, reasoning: (answer.reasoning ?? '') + part.delta });
          else if (part.type === 'error') update({ ...answer, error: part.error.message });
        },
        abort.current.signal,
      );
    } catch (caught) {
      if (!abort.current.signal.aborted)
        update({ ...answer, error: caught instanceof ApiError ? caught.message : String(caught) });
    } finally {
      setStreaming(false);
    }
  };

  return (
    <div class="playground">
      <form class="settings" onSubmit={(event) => event.preventDefault()}>
        <label for="chat-deployment">Deployment</label>
        <select
          id="chat-deployment"
          value={deployment}
          onChange={(event) => setChosen(event.currentTarget.value)}
        >
          {deployments.length === 0 && <option value="">No running deployment</option>}
          {deployments.map((entry) => (
            <option key={entry.name} value={entry.name}>
              {entry.name}
            </option>
          ))}
        </select>
        <label for="chat-system">System prompt</label>
        <textarea
          id="chat-system"
          rows={3}
          value={system}
          onInput={(event) => setSystem(event.currentTarget.value)}
        />
        <label for="chat-temperature">Temperature</label>
        <input
          id="chat-temperature"
          type="number"
          min="0"
          max="2"
          step="0.1"
          value={temperature}
          onInput={(event) => setTemperature(event.currentTarget.value)}
        />
        <label for="chat-max-tokens">Max tokens</label>
        <input
          id="chat-max-tokens"
          type="number"
          min="1"
          value={maxTokens}
          onInput={(event) => setMaxTokens(event.currentTarget.value)}
        />
        <button type="button" onClick={() => setTurns([])} disabled={streaming}>
          Clear chat
        </button>
      </form>
      <section class="chat" aria-label="Conversation">
        <ol class="turns" aria-live="polite">
          {turns.map((turn, index) => (
            <li key={index} class={`turn ${turn.role}`}>
              <span class="who">{turn.role === 'user' ? 'You' : deployment}</span>
              {turn.reasoning && (
                <details class="reasoning" open>
                  <summary>Reasoning</summary>
                  <p>{turn.reasoning}</p>
                </details>
              )}
              <p class="content">{turn.content}</p>
              {turn.error && (
                <p class="field-error" role="alert">
                  {turn.error}
                </p>
              )}
            </li>
          ))}
        </ol>
        <form class="composer" onSubmit={send}>
          <label for="chat-message" class="visually-hidden">
            Message
          </label>
          <textarea
            id="chat-message"
            rows={2}
            value={draft}
            placeholder="Ask something (Ctrl+Enter sends)"
            onInput={(event) => setDraft(event.currentTarget.value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) void send(event);
            }}
          />
          {streaming ? (
            <button type="button" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          ) : (
            <button type="submit" disabled={!deployment}>
              Send
            </button>
          )}
        </form>
        <details class="snippet">
          <summary>
            The same request with curl (through <code>byzerllm serve</code>)
          </summary>
          <pre>
            <code>
              {curlSnippet(
                input([
                  ...turns.filter((turn) => !turn.error),
                  ...(draft ? [{ role: 'user' as const, content: draft }] : []),
                ]),
              )}
            </code>
          </pre>
        </details>
      </section>
    </div>
  );
}

function curlSnippet(input: ChatInput): string {
  const body = {
    model: input.deployment,
    stream: true,
    messages: [...(input.system ? [{ role: 'system', content: input.system }] : []), ...input.messages],
    ...(input.temperature === undefined ? {} : { temperature: input.temperature }),
    ...(input.maxTokens === undefined ? {} : { max_tokens: input.maxTokens }),
  };
  const json = JSON.stringify(body, null, 2).replaceAll("'", "'\\''");
  return `curl http://127.0.0.1:8000/v1/chat/completions \\\n  -H 'content-type: application/json' \\\n  -H "authorization: Bearer $BYZERLLM_API_KEY" \\\n  -d '${json}'`;
}
