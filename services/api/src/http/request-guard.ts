import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { BODY_LIMIT_TEXT, BadRequest, PayloadTooLarge, type AppError } from '@order-service/shared';
import { declaresTooLargeBody } from './body-limit';
import { sendProblem } from './problem';

/**
 * How long a connection we refuse stays open after its answer. The client reads the answer and
 * closes; one that keeps sending is cut off then. Destroying the socket at once instead would
 * reset a connection with unread bytes, and the reset can discard the answer before the client reads it.
 */
export const LINGER_MS = 1_000;

/** Sends `Connection: close` with the response, and cuts the connection off if the client keeps it open. */
export function closeAfterResponse(res: ServerResponse): void {
  const socket = res.socket;
  res.setHeader('Connection', 'close');
  res.once('finish', () => {
    setTimeout(() => socket?.destroy(), LINGER_MS).unref();
  });
}

/** Why a request must be refused before anything reads it, if it must. */
function refusal(req: IncomingMessage): AppError | undefined {
  // llhttp accepts HTTP/0.9 (a request line without a version) and HTTP/2.0 request lines; it
  // refuses every other version itself with a 400. Only HTTP/1.x framing is spoken here.
  if (req.httpVersionMajor !== 1) return new BadRequest('Only HTTP/1.0 and HTTP/1.1 requests are served.');
  if (declaresTooLargeBody(req)) return new PayloadTooLarge(BODY_LIMIT_TEXT);
  return undefined;
}

/**
 * Refuses, on every route and before any body is read, a request that is not HTTP/1.x or that
 * declares a body over the limit (the parser would refuse it only after reading it all), and
 * closes its connection: what follows on it cannot be trusted to be a request.
 */
export const requestGuard: RequestHandler = (req, res, next) => {
  const error = refusal(req);
  if (!error) return next();
  closeAfterResponse(res);
  sendProblem(res, error, req.originalUrl);
};
