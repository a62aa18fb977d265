import { expect } from 'chai';
import {
  type AppError,
  BadRequest,
  NotFound,
  PayloadTooLarge,
  ServiceUnavailable,
  TooManyRequests,
  UnsupportedMediaType,
  ValidationFailed,
  isDatabaseUnavailable,
} from '../src/errors';

describe('errors', () => {
  it('each problem class carries its status, title and a type URI, /problems/<slug of the title>, relative to the API', () => {
    const cases: Array<[AppError, number, string]> = [
      [new BadRequest('x'), 400, 'bad-request'],
      [new NotFound('order', 'id-1'), 404, 'not-found'],
      [new PayloadTooLarge('1 MiB'), 413, 'payload-too-large'],
      [new UnsupportedMediaType(), 415, 'unsupported-media-type'],
      [new ValidationFailed('x', []), 422, 'unprocessable-content'],
      [new TooManyRequests(3), 429, 'too-many-requests'],
      [new ServiceUnavailable('database'), 503, 'service-unavailable'],
    ];
    for (const [error, status, slug] of cases) {
      expect(error.status).to.equal(status);
      expect(error.type).to.equal(`/problems/${slug}`);
      expect(error).to.be.instanceOf(Error);
    }
    expect(new NotFound('order', 'id-1').detail).to.equal('No order with id id-1.');
    expect(new ValidationFailed('bad', [{ name: 'a', reason: 'b' }]).extensions).to.deep.equal({ invalid_params: [{ name: 'a', reason: 'b' }] });
  });

  it('isDatabaseUnavailable recognises connection failures, not query errors', () => {
    const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    for (const error of [
      withCode('ECONNREFUSED'),
      withCode('57P01'),
      withCode('08006'),
      withCode('53300'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
    ]) {
      expect(isDatabaseUnavailable(error), error.message).to.equal(true);
    }
    for (const error of [withCode('23505', 'duplicate key'), withCode('42P01', 'relation does not exist'), new Error('boom'), 'ECONNREFUSED', null]) {
      expect(isDatabaseUnavailable(error), String(error)).to.equal(false);
    }
  });
});
