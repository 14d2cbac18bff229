/** Engines: the implementations of the model protocol. Import the registry; engines load lazily. */
export * from './registry.js';
