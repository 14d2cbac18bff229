import { HeadUnreachableError } from '../core/index.js';

/** A service the head opened for this command (a gateway, the console), held while the command runs. */
export interface AttachedService {
  /** Resolves when the head ends the service (it stopped or crashed). */
  closed: Promise<void>;
  close(): Promise<void> | void;
}

/**
 * Keeps a foreground command (`serve`, `console`) running until Ctrl+C or SIGTERM, then closes its
 * service; if the head ends the service first, fails with `HeadUnreachableError` naming `what`.
 */
export async function holdUntilStopped(service: AttachedService, what: string): Promise<void> {
  const stopped = await new Promise<'signal' | 'head'>((resolve) => {
    const onSignal = () => resolve('signal');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    service.closed.then(() => resolve('head'));
  });
  await service.close();
  if (stopped === 'head')
    throw new HeadUnreachableError(`the byzerllm head stopped, and the ${what} with it`);
}
