/**
 * The console page: sign-in when the console has an API key, then a shell with one page per hash
 * route (#/cluster, #/deployments, …). Live data comes from one event stream shared by all pages.
 */
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { callApi, type Snapshot, watchSnapshots } from './api.js';
import { ClusterPage } from './cluster-page.js';
import { DeploymentsPage } from './deployments-page.js';
import { JobsPage } from './jobs-page.js';
import { LoginPage } from './login-page.js';
import { MissingPage } from './missing-page.js';
import { NotebookPage } from './notebook-page.js';
import { PlaygroundPage } from './playground-page.js';
import { StoragePage } from './storage-page.js';

export const PAGES = [
  { id: 'cluster', title: 'Cluster' },
  { id: 'deployments', title: 'Deployments' },
  { id: 'playground', title: 'Playground' },
  { id: 'notebook', title: 'Notebook' },
  { id: 'jobs', title: 'Jobs' },
  { id: 'storage', title: 'Storage' },
] as const;
type PageId = (typeof PAGES)[number]['id'];

function currentPage(): PageId {
  const id = location.hash.replace(/^#\/?/, '');
  return PAGES.find((page) => page.id === id)?.id ?? 'cluster';
}

/** Which optional pages this console has what they need for (see `console-features.ts`). */
export type Features = Partial<Record<'notebook' | 'jobs' | 'storage', boolean>>;

interface Session {
  required: boolean;
  signedIn: boolean;
  features?: Features;
}

function App() {
  const [session, setSession] = useState<Session | undefined>();
  useEffect(() => {
    callApi<Session>('GET', 'session').then(setSession);
  }, []);
  if (!session) return <p class="loading">Loading…</p>;
  if (!session.signedIn) return <LoginPage onSignedIn={() => setSession({ ...session, signedIn: true })} />;
  return <Shell features={session.features ?? {}} />;
}

function Shell({ features }: { features: Features }) {
  const [page, setPage] = useState<PageId>(currentPage());
  const [snapshot, setSnapshot] = useState<Snapshot | undefined>();
  const [live, setLive] = useState(true);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    const onHash = () => setPage(currentPage());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  useEffect(
    () =>
      watchSnapshots(
        (next) => {
          setSnapshot(next);
          setLive(true);
        },
        () => setLive(false),
      ),
    [],
  );
  // Moving to a page moves keyboard focus to its heading, so screen readers announce it.
  useEffect(() => heading.current?.focus(), [page]);
  const title = PAGES.find((entry) => entry.id === page)?.title ?? '';
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Byzer-LLM</span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((entry) => (
              <li key={entry.id}>
                <a href={`#/${entry.id}`} aria-current={entry.id === page ? 'page' : undefined}>
                  {entry.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class={live ? 'live' : 'live lost'} role="status">
          {live ? 'live' : 'reconnecting…'}
        </span>
      </header>
      <main id="main">
        <h1 tabIndex={-1} ref={heading}>
          {title}
        </h1>
        {page === 'cluster' && <ClusterPage snapshot={snapshot} />}
        {page === 'deployments' && <DeploymentsPage snapshot={snapshot} />}
        {page === 'playground' && <PlaygroundPage snapshot={snapshot} />}
        {page === 'notebook' &&
          (features.notebook ? <NotebookPage snapshot={snapshot} /> : <MissingPage page={page} />)}
        {page === 'jobs' && (features.jobs ? <JobsPage /> : <MissingPage page={page} />)}
        {page === 'storage' && (features.storage ? <StoragePage /> : <MissingPage page={page} />)}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('root')!);
