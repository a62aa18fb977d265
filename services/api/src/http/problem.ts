import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import {
  AppError,
  BODY_LIMIT_TEXT,
  BadRequest,
  PayloadTooLarge,
  ServiceUnavailable,
  UnsupportedMediaType,
  isDatabaseUnavailable,
  type Logger,
} from '@order-service/shared';

/** The RFC 9457 document of an error. */
export function problemDocument(error: AppError, instance?: string) {
  return { type: error.type, title: error.title, status: error.status, detail: error.detail, instance, ...error.extensions };
}

/** Writes an RFC 9457 problem document. */
export function sendProblem(res: Response, error: AppError, instance?: string): void {
  res.status(error.status).type('application/problem+json').json(problemDocument(error, instance));
}

/** body-parser reports its failures as errors with a `type`; map them to problems. */
function fromBodyParser(error: { type?: string; status?: number }): AppError | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return new BadRequest('The request body is not valid JSON.');
    case 'entity.too.large':
      return new PayloadTooLarge(BODY_LIMIT_TEXT);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaType();
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new BadRequest('The request body could not be read.');
    default:
      return undefined;
  }
}

/**
 * Other client errors raised by express or its parsers carry a 4xx `status` (a malformed
 * %-escape in the path, a corrupt gzip body). They are the client's fault, not a 500; their
 * message stays out of the body, which says only what kind of problem it is.
 */
function fromClientError(error: { status?: unknown }): AppError | undefined {
  const { status } = error;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 499) return undefined;
  const detail = status === 400 ? 'The request is malformed.' : 'The request cannot be processed.';
  return new AppError(status, STATUS_CODES[status] ?? 'Bad Request', detail);
}

/** Any route not matched, under /api or outside it. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError(404, 'Not Found', `No route matches ${req.method} ${req.originalUrl.split('?')[0]}.`));
};

/**
 * The one place errors become responses. Known errors keep their status; an unreachable
 * database is a 503; anything else is a logged 500 whose body says nothing about the cause.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);
    if (error instanceof AppError) return sendProblem(res, error, req.originalUrl);
    const fields = typeof error === 'object' && error !== null ? error : {};
    const clientError = fromBodyParser(fields) ?? fromClientError(fields);
    if (clientError) return sendProblem(res, clientError, req.originalUrl);
    if (isDatabaseUnavailable(error)) {
      logger.warn({ err: error }, 'database unavailable');
      res.set('Retry-After', '1');
      return sendProblem(res, new ServiceUnavailable('database'), req.originalUrl);
    }
    logger.error({ err: error, method: req.method, url: req.originalUrl }, 'unhandled error');
    sendProblem(res, new AppError(500, 'Internal Server Error', 'An unexpected error occurred.'), req.originalUrl);
  };
}
