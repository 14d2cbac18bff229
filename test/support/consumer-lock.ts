/**
 * A package-lock.json for a project that depends only on a packed byzerllm tarball, derived from this
 * repository's lock: byzerllm's runtime `dependencies` and everything they need (dependencies,
 * required peers, optional dependencies), found the way Node resolves them in this lock's tree.
 * Optional peers are left out, as npm leaves them out. With it, `npm ci --offline` installs what
 * `npm install byzerllm` would, from the npm cache by integrity, without asking the registry for
 * package metadata (which the cache may not hold).
 */
interface LockEntry {
  version?: string;
  integrity?: string;
  resolved?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

interface Lockfile {
  packages: Record<string, LockEntry>;
}

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  [key: string]: unknown;
}

/** The lock location Node would load `name` from when required at `from` ('' = the root). */
function locate(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (base === '') return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}

function requiredNames(entry: LockEntry): string[] {
  const optionalPeers = new Set(
    Object.entries(entry.peerDependenciesMeta ?? {})
      .filter(([, meta]) => meta.optional)
      .map(([name]) => name),
  );
  return [
    ...Object.keys(entry.dependencies ?? {}),
    ...Object.keys(entry.optionalDependencies ?? {}),
    ...Object.keys(entry.peerDependencies ?? {}).filter((name) => !optionalPeers.has(name)),
  ];
}

const LOCAL_FLAGS = ['dev', 'devOptional', 'optional', 'peer', 'extraneous', 'inBundle'];

/**
 * The lock of a project `{ dependencies: { [manifest.name]: tarball } }`. Throws when a needed package
 * is missing from the repository's lock (the install could not be offline then).
 */
export function consumerLock(repositoryLock: Lockfile, manifest: Manifest, tarball: string): object {
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', dependencies: { [manifest.name]: `file:${tarball}` } },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: `file:${tarball}`,
      dependencies: manifest.dependencies ?? {},
    },
  };
  const pending: Array<{ from: string; names: string[] }> = [
    { from: '', names: Object.keys(manifest.dependencies ?? {}) },
  ];
  for (let item = pending.pop(); item; item = pending.pop()) {
    for (const name of item.names) {
      const location = locate(repositoryLock.packages, item.from, name);
      if (!location) {
        const optional = Object.keys(repositoryLock.packages[item.from]?.optionalDependencies ?? {});
        if (optional.includes(name)) continue;
        throw new Error(`${name} (needed by ${item.from || 'byzerllm'}) is not in package-lock.json`);
      }
      if (packages[location]) continue;
      const entry = { ...repositoryLock.packages[location]! };
      for (const flag of LOCAL_FLAGS) delete entry[flag];
      packages[location] = entry;
      pending.push({ from: location, names: requiredNames(entry) });
    }
  }
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}
