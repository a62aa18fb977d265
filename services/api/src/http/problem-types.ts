import { STATUS_CODES } from 'node:http';
import { Router } from 'express';
import * as v from 'valibot';
import { AppError, BODY_LIMIT_TEXT, problemSlug, problemTypeUri } from '@order-service/shared';

/** What a client should know of a problem type beyond its status, for the types this API answers with on purpose. */
const NOTES: Record<number, string> = {
  400: 'The request is malformed: JSON that does not parse, a malformed order id or header, an unreadable body, or a request line that is not HTTP/1.x. Fix the request; retrying it unchanged fails again.',
  404: 'No such resource: an unknown order (or another customer\'s, when X-Customer-Id is sent), or no route for the method and path.',
  408: 'The request did not arrive in full within API_REQUEST_TIMEOUT_MS (10 s by default). The connection is closed; send the request again.',
  413: `The body is larger than ${BODY_LIMIT_TEXT}. A declared Content-Length over the limit is refused before the body is read, and the connection is closed.`,
  415: 'The body of POST /api/orders must be JSON (Content-Type application/json).',
  422: 'The body is well-formed JSON but not a valid order. The invalid_params member lists each invalid field as { name, reason }, with names such as items[2].quantity. A reused Idempotency-Key with another body is refused the same way.',
  429: 'The client IP made more requests under /api than the rate limit allows. Retry-After says how many seconds to wait; the RateLimit and RateLimit-Policy headers say how much is left.',
  431: 'The request headers are too large. The connection is closed.',
  500: 'An unexpected error in the API. It is logged; the body says nothing of its cause. Retrying may succeed.',
  503: 'A dependency the request needs (the database) is unavailable. Retry after the seconds in Retry-After.',
};

/** A problem type as GET /problems/<slug> describes it. */
export interface ProblemType {
  type: string;
  title: string;
  status: number;
  description: string;
}

/**
 * Every problem type the API can answer with. A problem's type is named for its title, and every
 * title is the HTTP status phrase of its status, so there is one type per error status.
 */
export const PROBLEM_TYPES: ReadonlyMap<string, ProblemType> = new Map(
  Object.entries(STATUS_CODES)
    .filter(([status]) => Number(status) >= 400)
    .map(([status, title = '']) => [
      problemSlug(title),
      {
        type: problemTypeUri(title),
        title,
        status: Number(status),
        description: NOTES[Number(status)] ?? `The HTTP status ${status} ${title}, with no meaning beyond the status itself (RFC 9110).`,
      },
    ]),
);

/** The path parameter of GET /problems/{type}; it also feeds the OpenAPI document. */
export const ProblemTypeParam = v.object({
  type: v.pipe(v.picklist([...PROBLEM_TYPES.keys()]), v.description("The problem type's slug: the last segment of a problem's `type`.")),
});

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = ({ title, status, type, description }: ProblemType) =>
  `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n` +
  `<body><h1>${status} ${escapeHtml(title)}</h1><p><code>${escapeHtml(type)}</code></p><p>${escapeHtml(description)}</p>\n` +
  '<p>Every problem is an RFC 9457 <code>application/problem+json</code> document with <code>type</code>, <code>title</code>, ' +
  '<code>status</code>, <code>detail</code> and <code>instance</code>. The OpenAPI document is at <a href="/openapi.json">/openapi.json</a>.</p></body></html>\n';

/** GET /problems/<slug>: the documentation a problem's `type` resolves to, as HTML for people or JSON. */
export function problemTypeRoutes(): Router {
  return Router().get('/:type', (req, res, next) => {
    const parsed = v.safeParse(ProblemTypeParam, req.params);
    if (!parsed.success) return next(new AppError(404, 'Not Found', `No problem type ${req.params.type}.`));
    const problemType = PROBLEM_TYPES.get(parsed.output.type)!;
    res.format({
      'text/html': () => res.send(page(problemType)),
      'application/json': () => res.json(problemType),
    });
  });
}
