/**
 * Training jobs: every job with its node, status and last step, and the chosen job's loss chart
 * and log, both live over one event stream while the page is open. On a NATS cluster's head the
 * jobs placed on nodes are listed beside those run on the head's machine.
 */
import { useEffect, useState } from 'preact/hooks';
import { type Column, DataTable } from './data-table.js';
import { LossChart, type LossPoint } from './loss-chart.js';

interface JobSummary {
  name: string;
  kind: string;
  status: string;
  reason?: string;
  lastStep?: { step: number; totalSteps: number; loss: number | null };
  /** Where the head placed it; absent for a job run on the head's machine without the cluster. */
  node?: string;
  nodes?: string[];
}

interface JobsView {
  jobs?: JobSummary[];
  detail?: { points: LossPoint[]; log: string[] };
  error?: string;
}

export function JobsPage() {
  const [chosen, setChosen] = useState<string | undefined>();
  const [view, setView] = useState<JobsView | undefined>();
  useEffect(() => {
    const query = chosen ? `?job=${encodeURIComponent(chosen)}` : '';
    const source = new EventSource(`/console/api/jobs/events${query}`);
    source.addEventListener('jobs', (event) => {
      const next = JSON.parse((event as MessageEvent<string>).data) as JobsView;
      setView(next);
      if (!chosen && next.jobs?.[0]) setChosen(next.jobs[0].name);
    });
    return () => source.close();
  }, [chosen]);
  if (!view) return <p class="loading">Reading the jobs…</p>;
  if (view.error) return <p role="alert">{view.error}</p>;
  const jobs = view.jobs ?? [];
  const chosenJob = jobs.find((job) => job.name === chosen);
  const columns: Column<JobSummary>[] = [
    {
      header: 'Job',
      cell: (job) => (
        <button
          type="button"
          class="link"
          aria-pressed={job.name === chosen}
          onClick={() => setChosen(job.name)}
        >
          {job.name}
        </button>
      ),
    },
    { header: 'Kind', cell: (job) => job.kind },
    {
      header: 'Node',
      cell: (job) => job.nodes?.join(', ') ?? job.node ?? "head's machine",
      class: 'node',
    },
    { header: 'Status', cell: (job) => job.status + (job.reason ? `: ${job.reason}` : ''), class: 'status' },
    {
      header: 'Step',
      cell: (job) => (job.lastStep ? `${job.lastStep.step}/${job.lastStep.totalSteps}` : '-'),
    },
    { header: 'Loss', cell: (job) => job.lastStep?.loss?.toFixed(4) ?? '-' },
  ];
  return (
    <>
      <DataTable
        caption="Training jobs, on this head's machine and on the cluster's nodes"
        columns={columns}
        rows={jobs}
        emptyText="No training jobs yet: start one with byzerllm finetune or byzerllm pretrain."
      />
      {chosen && view.detail && (
        <section class="card" aria-labelledby="job-title">
          <h2 id="job-title">{chosen}</h2>
          {chosenJob?.node && (
            <p class="note">
              On {chosenJob.nodes ? `nodes ${chosenJob.nodes.join(', ')}` : `node ${chosenJob.node}`}: the log
              shows the events the node reported; its worker logs stay on that machine.
            </p>
          )}
          <LossChart points={view.detail.points} name={chosen} />
          <h3>Log</h3>
          {/* Chromium and Firefox let the keyboard focus and scroll a scrolling box by themselves. */}
          <div class="log" role="log" aria-label={`Log of ${chosen}`}>
            <pre>{view.detail.log.join('\n')}</pre>
          </div>
        </section>
      )}
    </>
  );
}
