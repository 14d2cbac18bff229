import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type ChatInput, callApi, type Snapshot, streamChat } from './api.js';
import { curlSnippet, typeScriptSnippet } from './chat-snippets.js';

interface Turn {
  role: 'user' | 'assistant';
  content: string;
  /** Data URLs of the images a user turn carried. */
  images?: string[];
  reasoning?: string;
  error?: string;
}

/** A running deployment the Playground offers: its meta says it chats, and whether it reads images. */
interface ChatDeployment {
  name: string;
  vision: boolean;
}

/**
 * Chat with any chat deployment (meta says it chats; embedding, speech and image deployments are
 * not offered); answers stream in as they arrive, reasoning shown apart; for a vision deployment
 * (meta `support_vision`) images can be attached to a message and go as data URLs.
 */
export function PlaygroundPage({ snapshot }: { snapshot: Snapshot | undefined }) {
  const deployments = useChatDeployments(snapshot);
  const [images, setImages] = useState<string[]>([]);
  const [chosen, setChosen] = useState('');
  const [system, setSystem] = useState('');
  const [temperature, setTemperature] = useState('');
  const [maxTokens, setMaxTokens] = useState('');
  const [draft, setDraft] = useState('');
  const [turns, setTurns] = useState<Turn[]>([]);
  const [streaming, setStreaming] = useState(false);
  const abort = useRef<AbortController | undefined>(undefined);
  const deployment = chosen || deployments[0]?.name || '';
  const vision = deployments.find((entry) => entry.name === deployment)?.vision === true;
  // Images wait only for a deployment that reads them: choosing another drops them.
  useEffect(() => {
    if (!vision) setImages([]);
  }, [vision]);

  const input = (messages: Turn[]): ChatInput => ({
    deployment,
    ...(system ? { system } : {}),
    messages: messages.map(({ role, content, images: attached }) =>
      role === 'user' && attached?.length
        ? {
            role,
            content: [
              { type: 'text' as const, text: content },
              ...attached.map((url) => ({ type: 'image' as const, url })),
            ],
          }
        : { role, content },
    ),
    ...(temperature === '' ? {} : { temperature: Number(temperature) }),
    ...(maxTokens === '' ? {} : { maxTokens: Number(maxTokens) }),
  });

  const send = async (event: Event) => {
    event.preventDefault();
    if (!draft.trim() || !deployment) return;
    const history: Turn[] = [
      ...turns,
      { role: 'user', content: draft, ...(images.length > 0 ? { images } : {}) },
    ];
    let answer: Turn = { role: 'assistant', content: '' };
    setTurns([...history, answer]);
    setDraft('');
    setImages([]);
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

  const snippetInput = input([
    ...turns.filter((turn) => !turn.error),
    ...(draft || images.length > 0 ? [{ role: 'user' as const, content: draft, images }] : []),
  ]);
  return (
    <div class="playground">
      <form class="settings" onSubmit={(event) => event.preventDefault()}>
        <label for="chat-deployment">Deployment</label>
        <select
          id="chat-deployment"
          value={deployment}
          onChange={(event) => setChosen(event.currentTarget.value)}
        >
          {deployments.length === 0 && <option value="">No running chat deployment</option>}
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
              {turn.images?.map((url, position) => (
                <img key={position} class="attached" src={url} alt={`attachment ${position + 1}`} />
              ))}
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
          {vision && (
            <label class="attach">
              Attach images
              <input type="file" accept="image/*" multiple onChange={(event) => attach(event, setImages)} />
            </label>
          )}
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
        {images.length > 0 && (
          <p class="pending-images" role="status">
            {images.length} image{images.length > 1 ? 's' : ''} attached to the next message{' '}
            <button type="button" class="link" onClick={() => setImages([])}>
              Remove
            </button>
          </p>
        )}
        <Snippet
          title="The same request with curl (through byzerllm serve)"
          text={curlSnippet(snippetInput)}
        />
        <Snippet
          title="The same request in TypeScript (byzerllm client)"
          text={typeScriptSnippet(snippetInput)}
        />
      </section>
    </div>
  );
}

function Snippet({ title, text }: { title: string; text: string }) {
  return (
    <details class="snippet">
      <summary>{title}</summary>
      <pre>
        <code>{text}</code>
      </pre>
    </details>
  );
}

/** The running deployments that chat, asked again when the set of deployments changes. */
function useChatDeployments(snapshot: Snapshot | undefined): ChatDeployment[] {
  const [deployments, setDeployments] = useState<ChatDeployment[]>([]);
  const running = (snapshot?.status.deployments ?? [])
    .filter((entry) => entry.state === 'running')
    .map((entry) => `${entry.name}@${entry.startedAt}`)
    .join(',');
  useEffect(() => {
    callApi<{ deployments: ChatDeployment[] }>('GET', 'chat-deployments').then(
      (answer) => setDeployments(answer.deployments),
      () => setDeployments([]),
    );
  }, [running]);
  return deployments;
}

/** Reads the chosen files as data URLs and adds them to the next message's images. */
function attach(event: Event, setImages: (update: (images: string[]) => string[]) => void): void {
  const input = event.currentTarget as HTMLInputElement;
  for (const file of Array.from(input.files ?? [])) {
    const reader = new FileReader();
    reader.onload = () => setImages((images) => [...images, String(reader.result)]);
    reader.readAsDataURL(file);
  }
  input.value = '';
}
