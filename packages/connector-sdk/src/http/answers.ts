/** A vendor's answer as the client returns it: a 2xx body parsed (and validated), or an accepted status. */
import { redactString, redactUrl } from '../log/redact.js';
import { BodyProblem, lenientBody, parseJsonBody, validateBody } from './body.js';
import { invalidResponseError, type RequestContext } from './failure.js';
import type { WireOutcome } from './transport.js';
import type { HttpAcceptedResponse, HttpRequest, HttpResponse } from './types.js';

type Answer = Extract<WireOutcome, { kind: 'response' }>;
type ResponseType = NonNullable<HttpRequest['responseType']>;

/** A 2xx answer: JSON parsed (or text) and checked against the schema; an unusable body is the vendor's error. */
export function successResponse<T>(
  ctx: RequestContext,
  answer: Answer,
  schema: HttpRequest<T>['schema'],
  responseType: ResponseType,
): HttpResponse<T> {
  let data: unknown;
  try {
    if (responseType === 'bytes') data = Buffer.from(answer.body);
    else {
      data =
        responseType === 'text'
          ? answer.body.toString('utf8')
          : parseJsonBody(answer.body, answer.headers['content-type']);
      if (schema !== undefined) data = validateBody(schema, data);
    }
  } catch (err) {
    if (err instanceof BodyProblem) throw invalidResponseError(ctx, answer.status, err.message);
    throw err;
  }
  return {
    ok: true,
    status: answer.status,
    // Without a schema the caller chose T; with one, validateBody produced a T.
    data: data as T,
    headers: answer.headers,
    url: redactString(redactUrl(answer.url.href)),
  };
}

/** A status the caller listed in acceptStatus: the body as JSON when it parses, unvalidated. */
export function acceptedResponse(answer: Answer, responseType: ResponseType): HttpAcceptedResponse {
  return {
    ok: false,
    status: answer.status,
    // An error page is read as JSON or text, whatever the success body would have been.
    data: lenientBody(answer.body, responseType === 'text' ? 'text' : 'json'),
    headers: answer.headers,
    url: redactString(redactUrl(answer.url.href)),
  };
}
