/**
 * The deploy progress line on a terminal: rewritten in place from what the workers append to their
 * log files (in the format worker-main.ts writes), and cleared at the end.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { workerLogPath } from '../../src/cluster/index.js';
import { showLoadProgress } from '../../src/cli/load-progress.js';

test('on a terminal one line shows every worker and is cleared when the deploy ends', async () => {
  const stateDirectory = await fs.mkdtemp(path.join(os.tmpdir(), 'byzerllm-progress-'));
  try {
    const first = workerLogPath(stateDirectory, 'tiny', 0);
    await fs.mkdir(path.dirname(first), { recursive: true });
    // An earlier deployment's lines are not this deploy's progress.
    await fs.writeFile(first, 'old [worker 1] ready: tiny#0 loaded in 5 ms\n');
    const written: string[] = [];
    const terminal = {
      isTTY: true,
      write: (text: string) => written.push(text),
    } as unknown as NodeJS.WriteStream;
    const stop = await showLoadProgress({ stateDirectory, deployment: 'tiny', workers: 2, stream: terminal });
    await fs.appendFile(first, 'now [worker 2] loading: 40%\n');
    await fs.writeFile(
      workerLogPath(stateDirectory, 'tiny', 1),
      'now [worker 3] loading: 100%\nnow [worker 3] ready: tiny#1\n',
    );
    await stop();
    assert.equal(written.at(-2), '\r\x1b[Kloading tiny: #0 loading 40%  #1 ready');
    assert.equal(written.at(-1), '\r\x1b[K');
    assert.ok(
      written.every((text) => !text.includes('\n')),
      'nothing but the one line',
    );
  } finally {
    await fs.rm(stateDirectory, { recursive: true, force: true });
  }
});
