import assert from 'node:assert/strict';
import { test } from 'node:test';
import { taskOfRequest } from '../../src/engines/shared/task-dispatch.js';

test('a lone audio part is speech-to-text; audio with a question stays a chat turn', () => {
  const url = 'data:audio/wav;base64,AAAA';
  assert.deepEqual(taskOfRequest({ messages: [{ role: 'user', content: [{ type: 'audio', url }] }] }), {
    kind: 'transcription',
    fields: { audio: url },
  });
  assert.equal(
    taskOfRequest({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'audio', url },
            { type: 'text', text: 'what is said?' },
          ],
        },
      ],
    }),
    undefined,
  );
});
