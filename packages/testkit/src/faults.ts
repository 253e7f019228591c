/**
 * Fault injection. GraphQL faults are matched against each incoming request (by operation name or root
 * field), used up in the order they were added, and each answers instead of the platform:
 * an HTTP status (a proxy's 502), a GraphQL error (HTTP 200, like the platform's business errors), a dropped
 * socket, or just a delay before the normal answer.
 */

/** A GraphQL error as the platform sends it (`errors[0]`). */
export interface InjectedGraphqlError {
  message: string;
  extensions?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface GraphqlFaultSpec {
  /** Only requests with this operation name or root field ('PingConnector', 'pingConnector'); any when absent. */
  operation?: string;
  /** How many matching requests it affects (default 1). */
  times?: number;
  /** Answer with this HTTP status (and `body`, default a short text like a proxy's page). */
  status?: number;
  body?: string;
  /** Answer HTTP 200 with `{ errors: [error], data: null }`. */
  error?: InjectedGraphqlError;
  /** Wait this long first; alone, the request is then answered normally. */
  delayMs?: number;
  /** Destroy the socket without answering (the client sees a reset connection). */
  drop?: boolean;
}

/** A handle on an injected fault: how often it fired, how often it still will; `cancel()` removes it. */
export interface FaultHandle {
  readonly hits: number;
  readonly remaining: number;
  cancel(): void;
}

interface ActiveFault {
  spec: GraphqlFaultSpec;
  remaining: number;
  hits: number;
}

/** A "stale read" fault on pings: the answer carries the state as it was before the ping wrote it. */
interface StalePingFault {
  connectorId: string | undefined;
  remaining: number;
  hits: number;
}

export class FaultInjector {
  readonly #graphql: ActiveFault[] = [];
  readonly #stalePings: StalePingFault[] = [];

  /** Adds a GraphQL fault; see {@link GraphqlFaultSpec}. */
  graphql(spec: GraphqlFaultSpec): FaultHandle {
    const fault: ActiveFault = { spec, remaining: spec.times ?? 1, hits: 0 };
    this.#graphql.push(fault);
    return handleOf(fault, () => remove(this.#graphql, fault));
  }

  /**
   * The next `times` pings (of `connectorId`, or any) echo the state stored before the ping's write, like
   * the platform's stale re-read after a write (OpenCTI issue #17472).
   */
  stalePing(options: { connectorId?: string; times?: number } = {}): FaultHandle {
    const fault: StalePingFault = { connectorId: options.connectorId, remaining: options.times ?? 1, hits: 0 };
    this.#stalePings.push(fault);
    return handleOf(fault, () => remove(this.#stalePings, fault));
  }

  /** Removes every pending fault. */
  clear(): void {
    this.#graphql.length = 0;
    this.#stalePings.length = 0;
  }

  /** @internal The fault to apply to a request, consumed. */
  takeGraphql(operationName: string | null, rootFields: readonly string[]): GraphqlFaultSpec | undefined {
    const fault = this.#graphql.find(
      (f) =>
        f.remaining > 0 &&
        (f.spec.operation === undefined || f.spec.operation === operationName || rootFields.includes(f.spec.operation)),
    );
    if (fault === undefined) return undefined;
    consume(fault, () => remove(this.#graphql, fault));
    return fault.spec;
  }

  /** @internal Whether this ping should echo a stale state, consumed. */
  takeStalePing(connectorId: string): boolean {
    const fault = this.#stalePings.find(
      (f) => f.remaining > 0 && (f.connectorId === undefined || f.connectorId === connectorId),
    );
    if (fault === undefined) return false;
    consume(fault, () => remove(this.#stalePings, fault));
    return true;
  }
}

function consume(fault: { remaining: number; hits: number }, onExhausted: () => void): void {
  fault.remaining -= 1;
  fault.hits += 1;
  if (fault.remaining <= 0) onExhausted();
}

function remove<T>(list: T[], item: T): void {
  const index = list.indexOf(item);
  if (index >= 0) list.splice(index, 1);
}

function handleOf(fault: { remaining: number; hits: number }, cancel: () => void): FaultHandle {
  return {
    get hits() {
      return fault.hits;
    },
    get remaining() {
      return Math.max(0, fault.remaining);
    },
    cancel() {
      fault.remaining = 0;
      cancel();
    },
  };
}
