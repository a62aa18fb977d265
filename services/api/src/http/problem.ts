import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import {
  AppError,
  BadRequest,
  NotFound,
  PayloadTooLarge,
  ServiceUnavailable,
  UnsupportedMediaType,
  isDatabaseUnavailable,
  type Logger,
} from '@order-service/shared';

/** Writes an RFC 9457 problem document. */
export function sendProblem(res: Response, error: AppError, instance?: string): void {
  res
    .status(error.status)
    .type('application/problem+json')
    .json({ type: error.type, title: error.title, status: error.status, detail: error.detail, instance, ...error.extensions });
}

/** body-parser reports its failures as errors with a `type`; map them to problems. */
function fromBodyParser(error: { type?: string; status?: number }): AppError | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return new BadRequest('The request body is not valid JSON.');
    case 'entity.too.large':
      return new PayloadTooLarge('1 MiB');
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

/** Any route not matched under /api. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new NotFound('resource', req.path));
};

/**
 * The one place errors become responses. Known errors keep their status; an unreachable
 * database is a 503; anything else is a logged 500 whose body says nothing about the cause.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);
    let problem: AppError;
    if (error instanceof AppError) problem = error;
    else if (typeof error === 'object' && error !== null && fromBodyParser(error)) problem = fromBodyParser(error)!;
    else if (isDatabaseUnavailable(error)) {
      logger.warn({ err: error }, 'database unavailable');
      problem = new ServiceUnavailable('database');
      res.set('Retry-After', '1');
    } else {
      logger.error({ err: error, method: req.method, url: req.originalUrl }, 'unhandled error');
      problem = new AppError(500, 'Internal Server Error', 'An unexpected error occurred.');
    }
    sendProblem(res, problem, req.originalUrl);
  };
}
