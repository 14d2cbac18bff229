/**
 * A TCP port for a torch.distributed rendezvous (rank 0 listens on it, the others connect).
 *
 * It is picked outside the kernel's ephemeral range: workers on other nodes start connecting
 * before rank 0 listens, and on one machine a connect to 127.0.0.1:P from ephemeral port P can
 * connect the socket to itself (TCP simultaneous open), which then holds P and rank 0 fails with
 * "address already in use". Ports outside the range are never a connection's own port.
 */
import fs from 'node:fs/promises';
import net from 'node:net';

const ATTEMPTS = 50;

export async function freePort(): Promise<number> {
  const [low, high] = await ephemeralRange();
  // Below the ephemeral range when there is room there, else above it.
  const [first, last] = low - 1 >= 10_000 ? [10_000, low - 1] : [high + 1, 65_535];
  for (let attempt = 0; attempt < ATTEMPTS && first <= last; attempt++) {
    const port = first + Math.floor(Math.random() * (last - first + 1));
    if (await isFree(port)) return port;
  }
  return listenOnce(0);
}

async function ephemeralRange(): Promise<[number, number]> {
  const text = await fs.readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '');
  const [low, high] = text.trim().split(/\s+/).map(Number);
  return low && high ? [low, high] : [32_768, 60_999];
}

function isFree(port: number): Promise<boolean> {
  return listenOnce(port).then(
    () => true,
    () => false,
  );
}

/** Listens on `port` on every interface (other nodes connect there), closes, resolves to the port. */
function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}
