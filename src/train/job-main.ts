/**
 * Entry of a job's supervisor process: `node job-main.js <job directory> [--resume]`.
 * Started detached by `startTrainingJob` / `resumeTrainingJob`; see job-supervisor.ts.
 *
 * With `BYZERLLM_JOB_TIED=1` (a node agent started it) its stdin is a pipe from the agent: the end
 * of that pipe is the agent's exit, however it exited (kill -9 included), and fails the job, so a
 * job never outlives the node that reports it.
 */
import { resolveStateDirectory } from '../cluster/index.js';
import { JobSupervisor } from './job-supervisor.js';

const [directory, ...flags] = process.argv.slice(2);
if (!directory) {
  process.stderr.write('usage: job-main.js <job directory> [--resume]\n');
  process.exit(2);
}
const supervisor = new JobSupervisor({
  directory,
  stateDirectory: resolveStateDirectory(),
  resume: flags.includes('--resume'),
});
if (process.env.BYZERLLM_JOB_TIED === '1') {
  const agentGone = () => supervisor.stop(`its node agent (pid ${process.ppid}) exited`);
  process.stdin.once('end', agentGone);
  process.stdin.once('error', agentGone);
  process.stdin.resume();
}
const status = await supervisor.run();
process.exit(status === 'succeeded' ? 0 : 1);
