import { STATUS_CODES, createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, BODY_LIMIT_TEXT, BadRequest, PayloadTooLarge } from '@order-service/shared';
import { declaresTooLargeBody } from './body-limit';
import { problemDocument } from './problem';
import { LINGER_MS, closeAfterResponse } from './request-guard';

export interface ServerSettings {
  /** A request not received in full (headers and body) by then is answered 408 and its connection closed. */
  requestTimeoutMs: number;
}

/** The problem for what Node's HTTP parser or its request timeout refused. */
function problemOf(error: Error & { code?: string; reason?: string }, { requestTimeoutMs }: ServerSettings): AppError {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError(408, 'Request Timeout', `The request did not arrive in full within ${requestTimeoutMs} ms.`);
    case 'HPE_HEADER_OVERFLOW':
      return new AppError(431, 'Request Header Fields Too Large', 'The request headers are too large.');
    // A length that does not fit in 64 bits is far over the limit, whatever else it is.
    case 'HPE_INVALID_CONTENT_LENGTH':
      return error.reason === 'Content-Length overflow' ? new PayloadTooLarge(BODY_LIMIT_TEXT) : new BadRequest('The request is malformed.');
    default:
      return new BadRequest('The request is malformed.');
  }
}

/**
 * Answers a request Node refused, then closes its connection. When the app already holds the
 * request (its body is what timed out), the answer goes through its response, with the headers
 * the app has set; before that there is no response object, so the bytes go to the socket.
 */
function answerClientError(socket: Duplex, res: ServerResponse | undefined, error: AppError): void {
  const body = JSON.stringify(problemDocument(error));
  const headers = {
    'Content-Type': 'application/problem+json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'",
    Connection: 'close',
  };
  if (res && !res.headersSent) {
    closeAfterResponse(res);
    res.writeHead(error.status, headers).end(body);
  } else if (!res && socket.writable) {
    const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n${head.join('')}\r\n${body}`);
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  } else {
    // A response is already on its way and cannot be changed now.
    socket.destroy();
  }
}

/**
 * The API's HTTP server: main.ts and the tests listen through it, so both run with the same
 * limits. A client can hold a connection only until its request is due, and a request declaring
 * an oversized body is refused before `100 Continue` invites the body.
 */
export function createApiServer(app: RequestListener, settings: ServerSettings): Server {
  const server = createServer({
    requestTimeout: settings.requestTimeoutMs,
    headersTimeout: settings.requestTimeoutMs,
    // Node looks for expired requests every 30 s by default, which would let a 10 s timeout last 40 s.
    connectionsCheckingInterval: Math.min(1_000, Math.floor(settings.requestTimeoutMs / 4)),
  });
  // The response in flight on each connection, for a timeout that strikes while the app reads the body.
  const inFlight = new WeakMap<Duplex, ServerResponse>();
  // One listener for every response, not a closure per request (see requestTimer's 'finish').
  function forget(this: ServerResponse) {
    const { socket } = this.req;
    if (inFlight.get(socket) === this) inFlight.delete(socket);
  }
  const handle: RequestListener = (req, res) => {
    inFlight.set(req.socket, res);
    res.on('close', forget);
    app(req, res);
  };
  server.on('request', handle);
  server.on('checkContinue', (req, res) => {
    if (!declaresTooLargeBody(req)) res.writeContinue();
    handle(req, res);
  });
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    if (error.code === 'ECONNRESET') return socket.destroy();
    answerClientError(socket, inFlight.get(socket), problemOf(error, settings));
  });
  return server;
}

/** Starts the API's server on `port` (0: any free port); resolves once it listens. */
export async function listen(app: RequestListener, { port, host, ...settings }: ServerSettings & { port: number; host?: string }) {
  const server = createApiServer(app, settings);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
