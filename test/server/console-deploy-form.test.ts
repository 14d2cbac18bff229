import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDeployForm } from '../../src/server/console/deploy-form.js';

describe('console deploy form', () => {
  test('a valid form becomes the spec the CLI would deploy, infer params split on the first =', () => {
    const result = parseDeployForm({
      name: ' chat ',
      pretrainedModelType: 'saas/openai',
      numWorkers: '2',
      workerConcurrency: '4',
      inferParams: 'saas.api_key=sk-a=b\n\n  saas.model = m  \n',
    });
    assert.ok(result.ok);
    assert.equal(result.spec.name, 'chat');
    assert.equal(result.spec.numWorkers, 2);
    assert.equal(result.spec.workerConcurrency, 4);
    assert.deepEqual(result.spec.inferParams, { 'saas.api_key': 'sk-a=b', 'saas.model': 'm' });
  });

  test('each bad value is reported on its own field, with the spec schema message', () => {
    const result = parseDeployForm({
      name: 'bad name!',
      pretrainedModelType: '',
      numWorkers: 'two',
      workerConcurrency: '0',
      inferParams: 'novalue',
    });
    assert.ok(!result.ok);
    assert.deepEqual(Object.keys(result.fieldErrors).sort(), [
      'inferParams',
      'name',
      'numWorkers',
      'pretrainedModelType',
      'workerConcurrency',
    ]);
    assert.match(result.fieldErrors.name!, /deployment name is 1-128 letters/);
    assert.equal(result.fieldErrors.numWorkers, 'expected a number');
    assert.equal(result.fieldErrors.inferParams, '"novalue" is not key=value');
  });

  test('a body that is not the form is refused as a whole', () => {
    const result = parseDeployForm({ name: 42 });
    assert.ok(!result.ok);
    assert.deepEqual(result.fieldErrors, { form: 'the form sent fields of the wrong type' });
  });
});
