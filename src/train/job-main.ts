/**
 * Entry of a job's supervisor process: `node job-main.js <job directory> [--resume]`.
 * Started detached by `startTrainingJob` / `resumeTrainingJob`; see job-supervisor.ts.
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
const status = await supervisor.run();
process.exit(status === 'succeeded' ? 0 : 1);
