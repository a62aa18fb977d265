import { expect } from 'chai';
import type { NextFunction, Request, Response } from 'express';
import { inOrder, type SyncHandler } from '../src/http/in-order';

const req = {} as Request;
const res = {} as Response;

/** Runs `handler` once and returns what it handed to express's `next` (`'not called'` if it did not call it). */
function run(handler: ReturnType<typeof inOrder>): unknown {
  let handed: unknown = 'not called';
  void handler(req, res, ((signal?: unknown) => {
    handed = signal;
  }) as NextFunction);
  return handed;
}

describe('inOrder', () => {
  it('runs every middleware in order, then goes on with no error', () => {
    const seen: number[] = [];
    const step = (n: number): SyncHandler => (_req, _res, next) => {
      seen.push(n);
      next();
    };
    expect(run(inOrder(step(1), step(2), step(3)))).to.equal(undefined);
    expect(seen).to.deep.equal([1, 2, 3]);
  });

  it('skips the rest when one hands an error (or a signal such as "route") to next', () => {
    const failure = new Error('refused');
    const seen: string[] = [];
    const after: SyncHandler = () => seen.push('after');
    expect(run(inOrder((_q, _s, next) => next(failure), after))).to.equal(failure);
    expect(run(inOrder((_q, _s, next) => next('route'), after))).to.equal('route');
    expect(seen).to.deep.equal([]);
  });

  it('stops when one answers without calling next', () => {
    const seen: string[] = [];
    expect(run(inOrder(() => seen.push('answered'), () => seen.push('after')))).to.equal('not called');
    expect(seen).to.deep.equal(['answered']);
  });

  it('lets a throw reach express, which catches it around the layer', () => {
    const handler = inOrder((_q, _s, next) => next(), () => {
      throw new Error('boom');
    });
    expect(() => run(handler)).to.throw('boom');
  });
});
