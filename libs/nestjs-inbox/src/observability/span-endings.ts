import { type Span, SpanStatusCode } from '@opentelemetry/api';

/** Ends `span` when `work` settles, recording a failure as the span's error. */
export function ended<T>(span: Span, work: Promise<T>): Promise<T> {
  return work.then(
    (result) => {
      span.end();
      return result;
    },
    (err: unknown) => {
      failed(span, err);
      throw err;
    },
  );
}

/** Ends `span` as failed with `err`. */
export function failed(span: Span, err: unknown): void {
  span.recordException(err as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
  span.end();
}
