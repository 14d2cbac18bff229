import assert from 'node:assert/strict';
import { test } from 'node:test';
import { taskOfRequest } from '../../src/engines/shared/task-dispatch.js';

test('on a transcription deployment a lone audio part is speech-to-text; audio with a question stays a chat turn', () => {
  const url = 'data:audio/wav;base64,AAAA';
  assert.deepEqual(
    taskOfRequest({ messages: [{ role: 'user', content: [{ type: 'audio', url }] }] }, 'transcription'),
    { kind: 'transcription', fields: { audio: url } },
  );
  assert.equal(
    taskOfRequest(
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'audio', url },
              { type: 'text', text: 'what is said?' },
            ],
          },
        ],
      },
      'transcription',
    ),
    undefined,
  );
});

test('chat text that looks like a task stays chat on a chat deployment (issue: JSON with "input" was taken for an image task)', () => {
  for (const text of [
    '{"input":"summarise me","lang":"en"}',
    '{"input":"hi","voice":"alloy"}',
    '[{"audio":"AAAA"}]',
  ]) {
    assert.equal(taskOfRequest({ messages: [{ role: 'user', content: text }] }), undefined, text);
    assert.equal(taskOfRequest({ messages: [{ role: 'user', content: text }] }, 'chat'), undefined, text);
  }
  const audio = 'data:audio/wav;base64,AAAA';
  assert.equal(
    taskOfRequest({ messages: [{ role: 'user', content: [{ type: 'audio', url: audio }] }] }),
    undefined,
  );
});

test('an explicit task field dispatches on any deployment; without JSON fields it names what it needs', () => {
  assert.deepEqual(
    taskOfRequest({
      task: 'speech',
      messages: [{ role: 'user', content: '{"input":"hi","voice":"alloy"}' }],
    }),
    { kind: 'speech', fields: { input: 'hi', voice: 'alloy' } },
  );
  assert.deepEqual(
    taskOfRequest({ task: 'image', messages: [{ role: 'user', content: '{"input":"a dog","voice":"x"}' }] }),
    { kind: 'image', fields: { input: 'a dog', voice: 'x' } },
  );
  assert.throws(
    () => taskOfRequest({ task: 'image', messages: [{ role: 'user', content: 'a dog' }] }),
    /task "image" needs the last user message to be a JSON object.*"input":"a cat"/,
  );
});
