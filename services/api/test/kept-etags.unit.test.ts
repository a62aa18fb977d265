import { expect } from 'chai';
import express, { type Response } from 'express';
import { keptEtags } from '../src/http/kept-etags';

/** A response of `app` that only records the headers set on it. */
function responseOf(app: express.Express) {
  const headers = new Map<string, string>();
  const res = { app, setHeader: (name: string, value: string) => headers.set(name, value) } as unknown as Response;
  return { res, headers };
}

describe('keptEtags', () => {
  it("sets the tag the app's own etag function makes (express's weak default), worked out once per body", () => {
    const app = express();
    let calls = 0;
    const made = app.get('etag fn') as (body: string, encoding: string) => string;
    app.set('etag fn', (body: string, encoding: string) => {
      calls++;
      return made(body, encoding);
    });
    const setTag = keptEtags(10);
    for (let i = 0; i < 3; i++) {
      const { res, headers } = responseOf(app);
      setTag(res, '{"a":"é"}');
      expect(headers.get('ETag')).to.equal(made('{"a":"é"}', 'utf8')).and.match(/^W\//);
    }
    expect(calls).to.equal(1);
  });

  it('keeps at most maxEntries tags, forgetting the oldest', () => {
    const app = express();
    let calls = 0;
    app.set('etag fn', (body: string) => `"${++calls}-${body}"`);
    const setTag = keptEtags(2);
    for (const body of ['a', 'b', 'c', 'a']) setTag(responseOf(app).res, body);
    expect(calls).to.equal(4);
    setTag(responseOf(app).res, 'c');
    expect(calls).to.equal(4);
  });

  it('sets nothing in an app without ETags', () => {
    const app = express();
    app.set('etag', false);
    const { res, headers } = responseOf(app);
    keptEtags(10)(res, 'body');
    expect(headers.size).to.equal(0);
  });
});
