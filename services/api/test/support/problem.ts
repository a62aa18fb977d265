import { expect } from 'chai';
import type { HttpResponse } from '@order-service/testkit';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  invalid_params?: Array<{ name: string; reason: string }>;
}

/**
 * Asserts an RFC 9457 problem with the given status: the media type, the members, the security
 * headers, and nothing that leaks internals (stack frames, driver or SQL text).
 */
export function expectProblem(response: HttpResponse, status: number): Problem {
  expect(response.status, response.text).to.equal(status);
  expect(response.headers['content-type']).to.match(/^application\/problem\+json/);
  expect(response.headers['x-content-type-options']).to.equal('nosniff');
  expect(response.headers['content-security-policy']).to.be.a('string');
  expect(response.text).not.to.match(/\n\s+at |node_modules|\.ts:\d+|ECONN|SQLSTATE|syntax error|relation "|violates|Error:/);
  const problem = response.json<Problem>();
  expect(problem.title).to.be.a('string').and.not.equal('');
  // GET /problems/<slug> on the API documents the type (a test there checks each one resolves).
  expect(problem.type).to.equal(`/problems/${problem.title.toLowerCase().replaceAll(' ', '-')}`);
  expect(problem.status).to.equal(status);
  expect(problem.detail).to.be.a('string').and.not.equal('');
  expect(problem).not.to.have.property('stack');
  const allowed = ['type', 'title', 'status', 'detail', 'instance', 'invalid_params'];
  expect(Object.keys(problem).every((key) => allowed.includes(key)), Object.keys(problem).join()).to.equal(true);
  return problem;
}
