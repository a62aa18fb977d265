import type { IncomingMessage } from 'node:http';
import { BODY_LIMIT_BYTES } from '@order-service/shared';

/** True when a request declares a body over the limit (Node has already checked that Content-Length is a number). */
export function declaresTooLargeBody(req: IncomingMessage): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined && Number(declared) > BODY_LIMIT_BYTES;
}
