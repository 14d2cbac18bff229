/**
 * CPU time of another process for the benchmarks: what they judge changes by on a shared machine,
 * where wall-clock numbers move with other people's work.
 */
import fs from 'node:fs/promises';

/**
 * CPU seconds a process has run so far, all its threads: the sum of `/proc/PID/task/TID/schedstat`'s
 * first field (nanoseconds on a CPU, the scheduler's own clock). `/proc/PID/stat`'s user and system
 * times count in ticks of 10 ms, too coarse for a batch that costs a bare proxy 10–20 ms.
 */
export async function processCpuSeconds(pid: number): Promise<number> {
  let nanoseconds = 0;
  for (const thread of await fs.readdir(`/proc/${pid}/task`)) {
    try {
      const schedstat = await fs.readFile(`/proc/${pid}/task/${thread}/schedstat`, 'utf8');
      nanoseconds += Number(schedstat.slice(0, schedstat.indexOf(' ')));
    } catch {
      // A thread that ended between the listing and the read: its time is gone either way.
    }
  }
  return nanoseconds / 1e9;
}

/** CPU microseconds (user + system) this process spends running `work`. */
export function cpuMicroseconds(work: () => unknown): number {
  const start = process.cpuUsage();
  work();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

/** The middle value (the upper one of an even count); 0 for none. */
export const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
