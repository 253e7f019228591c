/**
 * Reading the platform's answer to a GraphQL request: its `data`, or a GraphQLResponseError saying what
 * came back instead. failure.ts turns that error into a PlatformError an admin can act on.
 */
import type { HttpAnswer } from './transport.js';

/** How much of an unusable body an error keeps: enough to recognise a proxy's page, never a whole bundle. */
export const ANSWER_EXCERPT_CHARS = 2_000;

/**
 * What made an answer unusable:
 * - `http`: a status outside 2xx (the body may still hold GraphQL errors, which are kept);
 * - `graphql`: a 2xx answer with GraphQL errors;
 * - `not-graphql`: a 2xx answer that is not a GraphQL result with data (an HTML page, a proxy's login form):
 *   the URL most likely does not point at the platform.
 */
export type AnswerProblem = 'http' | 'graphql' | 'not-graphql';

/**
 * An answer of the platform without usable `data`. Its message names the status and the platform's first
 * error, never the request (whose variables hold bundles and states).
 */
export class GraphQLResponseError extends Error {
  readonly problem: AnswerProblem;
  readonly status: number;
  /** The answer's GraphQL errors as sent (objects with `message`, `extensions.code`); empty when none. */
  readonly errors: readonly unknown[];
  /** The body's first ANSWER_EXCERPT_CHARS characters. */
  readonly body: string;

  constructor(problem: AnswerProblem, answer: HttpAnswer, errors: readonly unknown[], detail: string) {
    super(detail);
    this.name = 'GraphQLResponseError';
    this.problem = problem;
    this.status = answer.status;
    this.errors = errors;
    this.body = answer.body.slice(0, ANSWER_EXCERPT_CHARS);
  }
}

/** `data` of a GraphQL answer; throws a GraphQLResponseError for anything else. */
export function readGraphQLData(answer: HttpAnswer): Record<string, unknown> {
  const result = parseExecutionResult(answer.body);
  const errors = result?.errors ?? [];
  if (answer.status < 200 || answer.status > 299) {
    const first = firstMessage(errors);
    const detail = `HTTP ${answer.status}${answer.statusText ? ` ${answer.statusText}` : ''}${first ? `: ${first}` : ''}`;
    throw new GraphQLResponseError('http', answer, errors, detail);
  }
  if (result === undefined) {
    throw new GraphQLResponseError('not-graphql', answer, [], `not a GraphQL result: ${excerpt(answer.body)}`);
  }
  if (errors.length > 0) {
    throw new GraphQLResponseError('graphql', answer, errors, firstMessage(errors) ?? 'GraphQL error');
  }
  if (result.data === null || result.data === undefined) {
    throw new GraphQLResponseError('not-graphql', answer, [], `a GraphQL result without data: ${excerpt(answer.body)}`);
  }
  return result.data;
}

interface ExecutionResult {
  data: Record<string, unknown> | null | undefined;
  errors: unknown[];
}

/**
 * The body as a GraphQL execution result, or undefined when it is not one: not JSON, not an object, `data`
 * neither an object nor null, `errors` neither a list nor an object. Parsed whatever the Content-Type says,
 * as pycti's `r.json()` does.
 */
function parseExecutionResult(body: string): ExecutionResult | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isPlainObject(parsed)) return undefined;
  const { data, errors } = parsed;
  if (data !== undefined && data !== null && !isPlainObject(data)) return undefined;
  let list: unknown[] = [];
  // Some servers send a single error object rather than a list.
  if (Array.isArray(errors)) list = errors;
  else if (isPlainObject(errors)) list = [errors];
  else if (errors !== undefined && errors !== null) return undefined;
  return { data, errors: list };
}

function firstMessage(errors: readonly unknown[]): string | undefined {
  const first = errors[0];
  if (!isPlainObject(first)) return undefined;
  return typeof first.message === 'string' ? first.message : undefined;
}

function excerpt(body: string): string {
  if (body.trim() === '') return '(an empty body)';
  return body.length > 200 ? `${body.slice(0, 200)}…` : body;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
