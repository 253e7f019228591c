/**
 * The HTTP listen protocol's side of the enrichment processor: a message the endpoint accepted (answered
 * 202, so the platform's worker has acked it) is run until its outcome is recorded. Where the AMQP path
 * would put the message back on the queue (the platform unreachable, an outcome that could not be
 * recorded), it is kept in hand and run again, as the broker would redeliver it, with the same
 * backoff and the same single second chance. At shutdown, a message still running when the grace period
 * ends cannot go back to any queue: its work ends in error saying so.
 */
import type { EnrichmentProcessor } from './enrichment.js';
import type { ListenBodyHandler } from './http-listener.js';

/** What the work of a message interrupted by a stop says (shown in the OpenCTI UI). */
export const INTERRUPTED_MESSAGE =
  'The connector stopped before this enrichment finished; with the HTTP listen protocol the platform does not send it again: ask for the enrichment again';

export function httpListenHandler(processor: EnrichmentProcessor, cancelled: AbortSignal): ListenBodyHandler {
  return async (body) => {
    let redelivered = false;
    for (;;) {
      const outcome = await processor.handle(body, redelivered);
      if (outcome === 'ack') return;
      if (cancelled.aborted) {
        await processor.abandon(body, INTERRUPTED_MESSAGE);
        return;
      }
      redelivered = true;
    }
  };
}
