/**
 * Byzer storage on the head: the clusters, their tables, a table's schema and a query box (full-text
 * search, equality filters, a limit), read-only: writes and drops stay with `ByzerStorage` and the CLI.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, callApi } from './api.js';
import { type Column, DataTable, ResultTable } from './data-table.js';
import { TextField } from './text-field.js';

interface TableLocation {
  cluster: string;
  database: string;
  table: string;
}

interface TableDescription {
  schema: string;
  vectorDimensions: Record<string, number>;
  rows: number;
}

export function StoragePage() {
  const [clusters, setClusters] = useState<string[]>([]);
  const [cluster, setCluster] = useState('');
  const [tables, setTables] = useState<TableLocation[] | undefined>();
  const [chosen, setChosen] = useState<TableLocation | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    callApi<{ clusters: string[] }>('GET', 'storage/clusters').then(({ clusters: names }) => {
      setClusters(names);
      setCluster(names[0] ?? '');
    }, report(setError));
  }, []);
  useEffect(() => {
    if (!cluster) return;
    setTables(undefined);
    setChosen(undefined);
    callApi<{ tables: TableLocation[] }>('POST', 'storage/listTables', { cluster }).then(
      ({ tables: found }) => setTables(found),
      report(setError),
    );
  }, [cluster]);
  const columns: Column<TableLocation>[] = [
    { header: 'Database', cell: (location) => location.database },
    {
      header: 'Table',
      cell: (location) => (
        <button
          type="button"
          class="link"
          aria-pressed={chosen?.database === location.database && chosen.table === location.table}
          onClick={() => setChosen(location)}
        >
          {location.database}.{location.table}
        </button>
      ),
    },
  ];
  return (
    <>
      {error && <p role="alert">{error}</p>}
      <label for="storage-cluster">Storage cluster</label>
      <select
        id="storage-cluster"
        value={cluster}
        onChange={(event) => setCluster(event.currentTarget.value)}
      >
        {clusters.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
      {!tables && !error && <p class="loading">Reading the tables…</p>}
      {tables && (
        <DataTable
          caption={`Tables of ${cluster}`}
          columns={columns}
          rows={tables}
          emptyText="No tables yet: create one with ByzerStorage's schemaBuilder() (docs/storage.md)."
        />
      )}
      {chosen && <TablePanel key={`${chosen.database}.${chosen.table}`} location={chosen} />}
    </>
  );
}

function TablePanel({ location }: { location: TableLocation }) {
  const [description, setDescription] = useState<TableDescription | undefined>();
  const [search, setSearch] = useState('');
  const [filter, setFilter] = useState('');
  const [limit, setLimit] = useState('10');
  const [rows, setRows] = useState<Record<string, unknown>[] | undefined>();
  const [error, setError] = useState('');
  const name = `${location.database}.${location.table}`;
  useEffect(() => {
    callApi<TableDescription>('POST', 'storage/describeTable', location).then(
      setDescription,
      report(setError),
    );
  }, [location]);
  const run = async (event: Event) => {
    event.preventDefault();
    setError('');
    try {
      const conditions = parseFilter(filter);
      const answer = await callApi<{ rows: Record<string, unknown>[] }>('POST', 'storage/query', {
        ...location,
        ...(search.trim() ? { searchQuery: { text: search.trim(), fields: [] } } : {}),
        ...(conditions.length > 0 ? { filter: { and: conditions } } : {}),
        limit: Number(limit) || 10,
      });
      setRows(answer.rows);
    } catch (caught) {
      report(setError)(caught);
    }
  };
  const columns = [...new Set((rows ?? []).flatMap((row) => Object.keys(row)))];
  return (
    <section class="card" aria-labelledby="storage-table-title">
      <h2 id="storage-table-title">{name}</h2>
      {description && (
        <dl class="facts">
          <dt>Schema</dt>
          <dd>
            <code class="schema">{description.schema}</code>
          </dd>
          <dt>Rows</dt>
          <dd>{description.rows}</dd>
          <dt>Vectors</dt>
          <dd>
            {Object.entries(description.vectorDimensions)
              .map(([field, dimension]) => `${field} (${dimension})`)
              .join(', ') || 'none'}
          </dd>
        </dl>
      )}
      <form class="form-grid" onSubmit={run}>
        <TextField
          id="storage-search"
          label="Search text (full text, analyze fields)"
          value={search}
          onInput={setSearch}
        />
        <TextField id="storage-limit" label="Limit" type="number" value={limit} onInput={setLimit} />
        <div class="wide">
          <TextField
            id="storage-filter"
            label='Filter (field=value, one a line, all must hold; "quoted" values stay text)'
            rows={3}
            value={filter}
            onInput={setFilter}
          />
        </div>
        <div class="wide actions">
          <button type="submit">Run query</button>
        </div>
      </form>
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
      {rows && (
        <ResultTable
          caption={`${rows.length} rows of ${name}`}
          columns={columns}
          rows={rows.map((row) => columns.map((column) => row[column]))}
        />
      )}
    </section>
  );
}

/** `field=value` lines → equality conditions; numbers and true/false unless the value is quoted. */
function parseFilter(text: string): { field: string; value: string | number | boolean }[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const equals = line.indexOf('=');
      if (equals <= 0) throw new ApiError(`"${line}" is not field=value`, 400);
      const raw = line.slice(equals + 1).trim();
      const quoted = /^"(.*)"$/.exec(raw);
      const value: string | number | boolean = quoted
        ? quoted[1]!
        : raw === 'true' || raw === 'false'
          ? raw === 'true'
          : raw !== '' && Number.isFinite(Number(raw))
            ? Number(raw)
            : raw;
      return { field: line.slice(0, equals).trim(), value };
    });
}

function report(setError: (message: string) => void) {
  return (caught: unknown) => setError(caught instanceof ApiError ? caught.message : String(caught));
}
