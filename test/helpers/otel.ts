// The real OpenTelemetry SDK in memory, for the telemetry tests: a MeterProvider with a reader that
// collects on demand, a TracerProvider exporting to memory, and AsyncLocalStorage context propagation.
import assert from 'node:assert/strict';
import { context, type Attributes, type AttributeValue } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

/** A reader that collects when asked (the SDK's pull model, as a Prometheus scrape does). */
class OnDemandReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** One exported data point: a sum or gauge value, or a histogram's count and sum. */
export interface Point {
  readonly name: string;
  readonly unit: string;
  readonly attributes: Attributes;
  readonly value: number;
  /** Histograms only. */
  readonly count?: number;
}

/** The SDK providers of one test, and what they exported. */
export interface OtelHarness {
  readonly meterProvider: MeterProvider;
  readonly tracerProvider: BasicTracerProvider;
  /** Every metric data point at this moment (cumulative). */
  collect(): Promise<Point[]>;
  /** Every span ended so far. */
  spans(): ReadableSpan[];
  /** Every attribute (key, value) of every exported point, span, span event and link, and span names. */
  everything(): Promise<[key: string, value: AttributeValue][]>;
  shutdown(): Promise<void>;
}

let contextManager: AsyncLocalStorageContextManager | undefined;

/** Starts the in-memory SDK (and, once per process, the AsyncLocalStorage context manager). */
export function otelHarness(): OtelHarness {
  if (contextManager === undefined) {
    contextManager = new AsyncLocalStorageContextManager().enable();
    assert.equal(context.setGlobalContextManager(contextManager), true);
  }
  const reader = new OnDemandReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const collect = async (): Promise<Point[]> => {
    const { resourceMetrics, errors } = await reader.collect();
    assert.deepEqual(errors, []);
    const points: Point[] = [];
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        const { name, unit } = metric.descriptor;
        if (metric.dataPointType === DataPointType.HISTOGRAM) {
          for (const dp of metric.dataPoints) {
            points.push({ name, unit, attributes: dp.attributes, value: dp.value.sum ?? 0, count: dp.value.count });
          }
        } else {
          for (const dp of metric.dataPoints) {
            points.push({ name, unit, attributes: dp.attributes, value: dp.value as number });
          }
        }
      }
    }
    return points;
  };
  return {
    meterProvider,
    tracerProvider,
    collect,
    spans: () => exporter.getFinishedSpans(),
    async everything() {
      const out: [string, AttributeValue][] = [];
      const add = (attrs: Attributes | undefined): void => {
        for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined) out.push([k, v]);
      };
      for (const p of await collect()) add(p.attributes);
      for (const s of exporter.getFinishedSpans()) {
        out.push(['(span name)', s.name]);
        if (s.status.message !== undefined) out.push(['(status message)', s.status.message]);
        add(s.attributes);
        for (const e of s.events) {
          out.push(['(event name)', e.name]);
          add(e.attributes);
        }
        for (const l of s.links) add(l.attributes);
      }
      return out;
    },
    async shutdown() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

/** Sum of the values of the points named `name` whose attributes include `match`. */
export function total(
  points: readonly Point[],
  name: string,
  match: Attributes = {},
  field: 'value' | 'count' = 'value',
): number {
  let n = 0;
  for (const p of points) {
    if (p.name !== name) continue;
    if (!Object.entries(match).every(([k, v]) => p.attributes[k] === v)) continue;
    n += field === 'count' ? (p.count ?? 0) : p.value;
  }
  return n;
}
