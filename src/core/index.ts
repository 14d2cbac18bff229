/** The model protocol and error hierarchy: the bottom layer, imported by every other layer. */
export * from './chat-model.js';
export * from './openai-chunk-text.js';
export * from './deployment.js';
export * from './errors.js';
export * from './models.js';
export * from './version.js';
export * from './generation-params.js';
export * from './optional-packages.js';
export * from './pricing.js';
