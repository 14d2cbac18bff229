/**
 * A network namespace joined to this one by a veth pair, for partition tests: `cut()` takes the link
 * down, `heal()` brings it back. Addresses come from 10.213.<n>.0/30, which the test creates and owns;
 * no traffic leaves the machine. Needs root and iproute2 (`ip netns`); `available()` says whether
 * this machine allows it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface NetworkNamespace {
  name: string;
  /** The address of this side (bind servers here so the namespace can reach them). */
  hostAddress: string;
  /** The command prefix that runs a program inside the namespace. */
  exec: string[];
  cut(): Promise<void>;
  heal(): Promise<void>;
  remove(): Promise<void>;
}

export async function networkNamespacesAvailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    await run('ip', ['netns', 'add', `bzprobe${process.pid}`]);
    await run('ip', ['netns', 'del', `bzprobe${process.pid}`]);
    return undefined;
  } catch (error) {
    return `ip netns is not usable here: ${(error as Error).message.split('\n')[0]}`;
  }
}

export async function createNetworkNamespace(): Promise<NetworkNamespace> {
  const tag = (process.pid % 200) + 20;
  const name = `bz${process.pid}`;
  const hostLink = `bzh${process.pid}`.slice(0, 15);
  const nsLink = `bzn${process.pid}`.slice(0, 15);
  const hostAddress = `10.213.${tag}.1`;
  const nsAddress = `10.213.${tag}.2`;
  const ip = (...args: string[]) => run('ip', args);
  await ip('netns', 'add', name);
  await ip('link', 'add', hostLink, 'type', 'veth', 'peer', 'name', nsLink);
  await ip('link', 'set', nsLink, 'netns', name);
  await ip('addr', 'add', `${hostAddress}/30`, 'dev', hostLink);
  await ip('link', 'set', hostLink, 'up');
  await ip('netns', 'exec', name, 'ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsLink);
  await ip('netns', 'exec', name, 'ip', 'link', 'set', nsLink, 'up');
  await ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  return {
    name,
    hostAddress,
    exec: ['ip', 'netns', 'exec', name],
    // The namespace's side goes down: it can reach nothing, while this side keeps its address.
    cut: async () => {
      await ip('netns', 'exec', name, 'ip', 'link', 'set', nsLink, 'down');
    },
    heal: async () => {
      await ip('netns', 'exec', name, 'ip', 'link', 'set', nsLink, 'up');
    },
    remove: async () => {
      await ip('link', 'del', hostLink).catch(() => {});
      await ip('netns', 'del', name).catch(() => {});
    },
  };
}
