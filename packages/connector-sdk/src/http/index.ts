export {
  createHttpClient,
  createHttpClientWith,
  defaultRuntime as defaultHttpRuntime,
  type HttpRuntime,
} from './client.js';
export { LONGEST_VENDOR_WAIT_MS } from './retry.js';
export { closeSharedRateLimits } from './shared-rate-limit.js';
export type {
  AcceptingRequest,
  AcceptingRequestOptions,
  HttpAcceptedResponse,
  HttpAuth,
  HttpClient,
  HttpClientOptions,
  HttpLogger,
  HttpRequest,
  HttpRequestOptions,
  HttpResponse,
  ProxyOptions,
  QueryParams,
  QueryValue,
  RateLimit,
  RetryOptions,
} from './types.js';
