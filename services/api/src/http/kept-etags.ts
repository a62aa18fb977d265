import type { Response } from 'express';

type EtagFn = (body: string, encoding: BufferEncoding) => string | undefined;

/**
 * The ETags of bodies that are sent again and again (cached orders): each is worked out once,
 * with the app's own `etag fn` (express's default weak tag unless the app changed it), and set
 * before `res.send`, which then neither hashes the same bytes again nor copies them into a
 * buffer to hash them. The tag is the one `res.send` would have made; conditional GETs (304)
 * work as before. At most `maxEntries` tags are kept; past that the oldest is forgotten.
 */
export function keptEtags(maxEntries: number): (res: Response, body: string) => void {
  const tags = new Map<string, string>();
  return (res, body) => {
    let tag = tags.get(body);
    if (tag === undefined) {
      // An app without ETags (`app.set('etag', false)`) has no function: nothing to set.
      tag = (res.app.get('etag fn') as EtagFn | undefined)?.(body, 'utf8');
      if (tag === undefined) return;
      if (tags.size >= maxEntries) tags.delete(tags.keys().next().value!);
      tags.set(body, tag);
    }
    res.setHeader('ETag', tag);
  };
}
