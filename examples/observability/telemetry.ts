// Traces of an app with the broker, imported before the app: node --import ./telemetry.js server.js
// Spans go to an OpenTelemetry collector over OTLP/HTTP (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, default
// http://localhost:4318/v1/traces). The AWS SDK's instrumentation is on for your other AWS calls
// (S3, …); each Cognito call is one span, the broker's `CognitoIdentity/<operation>`.
import type { Context } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  type ReadableSpan,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';

/** Drops the AWS SDK instrumentation's span of a Cognito Identity call: the broker's span is the same call. */
class OneSpanPerCognitoCall implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}
  onStart(span: Span, parent: Context): void {
    this.next.onStart(span, parent);
  }
  onEnd(span: ReadableSpan): void {
    const sdkSpan = span.instrumentationScope.name === '@opentelemetry/instrumentation-aws-sdk';
    if (sdkSpan && span.attributes['rpc.service'] === 'CognitoIdentity') return;
    this.next.onEnd(span);
  }
  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}

const provider = new NodeTracerProvider({
  spanProcessors: [new OneSpanPerCognitoCall(new BatchSpanProcessor(new OTLPTraceExporter()))],
});
provider.register(); // the global TracerProvider (with AsyncLocalStorage context): the broker finds it
registerInstrumentations({
  // suppressInternalInstrumentation: no HTTP span under each SDK call either.
  instrumentations: [new AwsInstrumentation({ suppressInternalInstrumentation: true })],
});

// Spans still in the batch are sent at exit.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void provider.shutdown().finally(() => process.exit(0));
  });
}
