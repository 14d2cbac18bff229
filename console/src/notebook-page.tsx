/**
 * The notebook: SQL cells and `--%chat` cells run in the console's SQL session on the head (one
 * session for the console, so a later cell sees an earlier cell's views and conversation). The
 * notebook — cells and their last results — is saved on the head after every run, add and delete,
 * and when a cell's text loses focus, so a reload shows it again.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, callApi, type Snapshot } from './api.js';
import { ResultTable } from './data-table.js';

interface CellResult {
  kind: string;
  columns: string[];
  rows: unknown[][];
  totalRows?: number;
  answer?: string;
}

interface Cell {
  id: string;
  source: string;
  results?: CellResult[];
  error?: string;
}

interface Notebook {
  version: 1;
  cells: Cell[];
}

export function NotebookPage({ snapshot }: { snapshot: Snapshot | undefined }) {
  const [notebook, setNotebook] = useState<Notebook | undefined>();
  const [running, setRunning] = useState<string | undefined>();
  const [message, setMessage] = useState('');
  useEffect(() => {
    callApi<Notebook>('GET', 'notebook').then(
      (loaded) => setNotebook(loaded.cells.length > 0 ? loaded : { version: 1, cells: [newCell('')] }),
      (caught: unknown) => setMessage(errorText(caught)),
    );
  }, []);
  if (!notebook)
    return message ? <p role="alert">{message}</p> : <p class="loading">Loading the notebook…</p>;

  const save = async (next: Notebook) => {
    setNotebook(next);
    try {
      // What the file keeps: results without the page-only row totals.
      await callApi('PUT', 'notebook', {
        version: 1,
        cells: next.cells.map((cell) => ({
          ...cell,
          ...(cell.results
            ? { results: cell.results.map(({ totalRows: _total, ...result }) => result) }
            : {}),
        })),
      });
    } catch (caught) {
      setMessage(`not saved: ${errorText(caught)}`);
    }
  };
  const update = (id: string, change: Partial<Cell>) => ({
    version: 1 as const,
    cells: notebook.cells.map((cell) => (cell.id === id ? { ...cell, ...change } : cell)),
  });
  const run = async (cell: Cell) => {
    setRunning(cell.id);
    try {
      const { results } = await callApi<{ results: CellResult[] }>('POST', 'notebook/run', {
        source: cell.source,
      });
      await save(update(cell.id, { results, error: undefined }));
    } catch (caught) {
      await save(update(cell.id, { results: undefined, error: errorText(caught) }));
    } finally {
      setRunning(undefined);
    }
  };
  const chatModel = snapshot?.status.deployments.find((entry) => entry.state === 'running')?.name ?? 'MODEL';
  const add = (source: string) => save({ version: 1, cells: [...notebook.cells, newCell(source)] });
  return (
    <>
      <p role="status">{message}</p>
      {notebook.cells.map((cell, index) => (
        <NotebookCell
          key={cell.id}
          cell={cell}
          number={index + 1}
          running={running === cell.id}
          onInput={(source) => setNotebook(update(cell.id, { source }))}
          onBlur={() => save(notebook)}
          onRun={() => run(cell)}
          onDelete={() => save({ version: 1, cells: notebook.cells.filter((entry) => entry.id !== cell.id) })}
        />
      ))}
      <div class="actions">
        <button type="button" onClick={() => add('')}>
          Add SQL cell
        </button>
        <button type="button" onClick={() => add(`--%chat\n--%model=${chatModel}\n\n`)}>
          Add chat cell
        </button>
      </div>
    </>
  );
}

interface CellProps {
  cell: Cell;
  number: number;
  running: boolean;
  onInput(source: string): void;
  onBlur(): void;
  onRun(): void;
  onDelete(): void;
}

function NotebookCell({ cell, number, running, onInput, onBlur, onRun, onDelete }: CellProps) {
  const isChat = cell.source.startsWith('--%chat');
  return (
    <section class="card cell" aria-label={`Cell ${number}`} data-cell={number}>
      <label for={`cell-${cell.id}`}>
        Cell {number} ({isChat ? 'chat' : 'SQL'}; Ctrl+Enter runs it)
      </label>
      <textarea
        id={`cell-${cell.id}`}
        class="source"
        rows={Math.max(3, cell.source.split('\n').length)}
        value={cell.source}
        spellcheck={false}
        onInput={(event) => onInput(event.currentTarget.value)}
        onBlur={onBlur}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
            event.preventDefault();
            onRun();
          }
        }}
      />
      <div class="actions">
        <button type="button" onClick={onRun} disabled={running || cell.source.trim() === ''}>
          {running ? 'Running…' : `Run cell ${number}`}
        </button>
        <button type="button" class="danger" onClick={onDelete}>
          Delete cell {number}
        </button>
      </div>
      {cell.error && (
        <p class="field-error" role="alert">
          {cell.error}
        </p>
      )}
      {cell.results?.map((result, position) =>
        result.answer !== undefined ? (
          <p class="content chat-answer" key={position}>
            {result.answer}
          </p>
        ) : result.columns.length > 0 ? (
          <ResultTable
            key={position}
            caption={
              result.totalRows !== undefined && result.totalRows > result.rows.length
                ? `${result.kind}: first ${result.rows.length} of ${result.totalRows} rows`
                : `${result.kind}: ${result.rows.length} rows`
            }
            columns={result.columns}
            rows={result.rows}
          />
        ) : (
          <p key={position} class="loading">
            {result.kind}: done
          </p>
        ),
      )}
    </section>
  );
}

function newCell(source: string): Cell {
  return { id: crypto.randomUUID(), source };
}

function errorText(caught: unknown): string {
  return caught instanceof ApiError ? caught.message : String(caught);
}
