import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** A middleware that finishes its work before it returns: it calls `next` (or answers) synchronously. */
export type SyncHandler = (req: Request, res: Response, next: NextFunction) => void;

/**
 * Runs synchronous middlewares one after the other as a single one. Express's router pays for each
 * middleware it walks on every request (a match, its result and a closure); the few that every
 * request passes through cost one layer this way instead of one each. An error, or `'route'`, handed
 * to `next` skips the rest and goes on to express, as it would between layers; so does a throw,
 * which express catches around the layer.
 */
export function inOrder(...handlers: SyncHandler[]): RequestHandler {
  return (req, res, next) => {
    let index = 0;
    const step = (signal?: unknown) => {
      if (signal !== undefined || index === handlers.length) return next(signal);
      handlers[index++]!(req, res, step);
    };
    step();
  };
}
