import { useState } from 'preact/hooks';
import { ApiError, callApi } from './api.js';

/** Asks for the gateway's API key; the server answers with a session cookie. */
export function LoginPage({ onSignedIn }: { onSignedIn: () => void }) {
  const [apiKey, setApiKey] = useState('');
  const [error, setError] = useState('');
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      await callApi('POST', 'login', { apiKey });
      onSignedIn();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : String(caught));
    }
  };
  return (
    <main id="main" class="login">
      <h1>Byzer-LLM console</h1>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autocomplete="current-password"
          value={apiKey}
          onInput={(event) => setApiKey(event.currentTarget.value)}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? 'api-key-error' : undefined}
          required
        />
        {error && (
          <p id="api-key-error" class="field-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit">Log in</button>
      </form>
    </main>
  );
}
