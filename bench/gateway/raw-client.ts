/**
 * A load generator's HTTP/1.1 client that costs as little CPU as this process can: each request is
 * one pre-built string written to a keep-alive socket, and the answer is read as latin1 text (one
 * byte per character, so `content-length` and chunk sizes count characters) with just enough parsing
 * to find its status and its end (`content-length` or chunked). undici spends about 3× its CPU per
 * request (40–60 µs against 15–22 µs at c=16–64, measured side by side against the loopback
 * upstream); on two shared cores, whatever the generator spends is taken from the proxy under test
 * and narrows every difference between proxies. One request at a time per connection, as undici's
 * pool does; a connection the server closes is replaced on the next request.
 */
import net from 'node:net';

export interface RawAnswer {
  status: number;
  /** The body as latin1 text (ASCII answers read the same; a chunked body is de-chunked). */
  text: string;
}

/** Where the body ends in `buffer` (from `start`), or -1 while it has not all arrived. */
function chunkedEnd(buffer: string, start: number, parts: string[]): number {
  let position = start;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', position);
    if (lineEnd < 0) return -1;
    const size = Number.parseInt(buffer.slice(position, lineEnd), 16);
    if (size === 0) return buffer.length >= lineEnd + 4 ? lineEnd + 4 : -1;
    const dataEnd = lineEnd + 2 + size;
    if (buffer.length < dataEnd + 2) return -1;
    parts.push(buffer.slice(lineEnd + 2, dataEnd));
    position = dataEnd + 2;
  }
}

class RawConnection {
  private readonly socket: net.Socket;
  private buffer = '';
  private pending?: { resolve: (answer: RawAnswer) => void; reject: (error: Error) => void };
  closed = false;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.setEncoding('latin1');
    this.socket.on('data', (data: string) => {
      this.buffer += data;
      this.tryAnswer();
    });
    const fail = (error: Error) => {
      this.closed = true;
      this.pending?.reject(error);
      this.pending = undefined;
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed before the answer ended')));
  }

  send(request: string): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request, 'latin1');
    });
  }

  private tryAnswer(): void {
    const headerEnd = this.buffer.indexOf('\r\n\r\n');
    if (headerEnd < 0 || !this.pending) return;
    const head = this.buffer.slice(0, headerEnd).toLowerCase();
    const status = Number(head.slice(9, 12));
    const bodyStart = headerEnd + 4;
    const length = /\r\ncontent-length: *(\d+)/.exec(head);
    let end: number;
    let text: string;
    if (length) {
      end = bodyStart + Number(length[1]);
      if (this.buffer.length < end) return;
      text = this.buffer.slice(bodyStart, end);
    } else if (head.includes('transfer-encoding: chunked')) {
      const parts: string[] = [];
      end = chunkedEnd(this.buffer, bodyStart, parts);
      if (end < 0) return;
      text = parts.join('');
    } else return; // Ends with the connection: answered by the close handler as a failure.
    this.buffer = this.buffer.slice(end);
    const { resolve } = this.pending;
    this.pending = undefined;
    resolve({ status, text });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** Keep-alive connections to one origin, reused across batches (opened as concurrency needs them). */
export class RawClient {
  private readonly idle: RawConnection[] = [];
  private readonly all = new Set<RawConnection>();
  private readonly port: number;
  private readonly host: string;

  constructor(origin: string) {
    const url = new URL(origin);
    this.port = Number(url.port);
    this.host = url.host;
  }

  /** The request text of a JSON POST with `headers` (lower-case names) and `body` (ASCII). */
  request(path: string, headers: Record<string, string>, body: string): string {
    // Written as latin1, one byte per character: only ASCII (one UTF-8 byte each) survives that.
    if (Buffer.byteLength(body) !== body.length) throw new Error('RawClient sends ASCII bodies only');
    let text = `POST ${path} HTTP/1.1\r\nhost: ${this.host}\r\ncontent-length: ${body.length}\r\n`;
    for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
    return `${text}\r\n${body}`;
  }

  async send(request: string): Promise<RawAnswer> {
    let connection = this.idle.pop();
    while (connection?.closed) connection = this.idle.pop();
    if (!connection) {
      connection = new RawConnection(this.port);
      this.all.add(connection);
    }
    try {
      const answer = await connection.send(request);
      this.idle.push(connection);
      return answer;
    } catch (error) {
      this.all.delete(connection);
      connection.close();
      throw error;
    }
  }

  close(): void {
    for (const connection of this.all) connection.close();
    this.all.clear();
    this.idle.length = 0;
  }
}
