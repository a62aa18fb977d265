import net from 'node:net';

export interface RawAnswer {
  /** The status of the first response, if one arrived. */
  status?: number;
  /** Its headers, lower-cased names. */
  headers: Record<string, string>;
  body: string;
  /** Every byte the server sent. */
  raw: string;
  /** Milliseconds from connecting to the first byte of the answer. */
  answeredAfterMs?: number;
  /** Milliseconds from connecting to the server closing the connection, if it did within the deadline. */
  closedAfterMs?: number;
}

export interface RawRequest {
  /** The bytes sent at once: a request line, headers, perhaps part of a body. */
  head: string;
  /** Sent one at a time every `everyMs` afterwards, like a client that never finishes its body. */
  drip?: { byte: string; everyMs: number };
  /** Half-closes the connection after `head`, as `nc -N` does. */
  endAfterHead?: boolean;
  /** Gives up (and closes from this side) after this long; `closedAfterMs` then stays undefined. */
  deadlineMs: number;
}

function parse(raw: string): Pick<RawAnswer, 'status' | 'headers' | 'body'> {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = (end === -1 ? raw : raw.slice(0, end)).split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
  return { status: status === undefined ? undefined : Number(status), headers, body: end === -1 ? '' : raw.slice(end + 4) };
}

/**
 * One exchange over a bare TCP connection, for requests no HTTP client would send (no version,
 * a body that never ends, an absurd Content-Length). Records what came back and when the server
 * closed the connection.
 */
export function rawExchange(url: string, request: RawRequest): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(Number(port), hostname);
    let raw = '';
    let answeredAfterMs: number | undefined;
    let drip: NodeJS.Timeout | undefined;
    const finish = (closedAfterMs: number | undefined) => {
      clearInterval(drip);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ ...parse(raw), raw, answeredAfterMs, closedAfterMs });
    };
    const deadline = setTimeout(() => finish(undefined), request.deadlineMs);
    socket.once('connect', () => {
      socket.write(request.head);
      if (request.endAfterHead) socket.end();
      const { byte, everyMs } = request.drip ?? {};
      if (byte !== undefined) drip = setInterval(() => socket.write(byte), everyMs);
    });
    socket.on('data', (chunk: Buffer) => {
      answeredAfterMs ??= Date.now() - started;
      raw += chunk.toString('latin1');
    });
    // The server's FIN (or reset) is what "closed the connection" means.
    socket.once('end', () => finish(Date.now() - started));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish(Date.now() - started);
      else reject(error);
    });
  });
}

/** A POST /api/orders head with the given extra header lines (each ending in CRLF). */
export const orderPostHead = (extraHeaders: string) =>
  `POST /api/orders HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n${extraHeaders}\r\n`;
