// The real OpenTelemetry SDK in the bench's app process (BENCH figure `hot-otel`): what an app that
// starts the Node SDK has registered globally by the time it serves.
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

/** Counts what it is given, as cheaply as an exporter can: the cost measured is the SDK's, not I/O. */
class CountingExporter implements SpanExporter {
  count = 0;
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    this.count += spans.length;
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Registers a global MeterProvider (Prometheus exporter, pulled), TracerProvider and context manager. */
export function registerOtel(): { scrape(): Promise<string>; spans(): number } {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const exporter = new PrometheusExporter({ preventServerStart: true });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
  const spans = new CountingExporter();
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new BatchSpanProcessor(spans)] }),
  );
  return {
    async scrape() {
      const { resourceMetrics } = await exporter.collect();
      return JSON.stringify(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name)));
    },
    spans: () => spans.count,
  };
}
