import type { IncomingMessage, ServerResponse } from 'node:http';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/** What {@link startMetrics} returns. */
export interface AppMetrics {
  readonly meterProvider: MeterProvider;
  /** Answers a Prometheus scrape (`GET /metrics`): collects and writes the text format. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  shutdown(): Promise<void>;
}

/**
 * The example app's metrics: an OpenTelemetry MeterProvider whose reader is the Prometheus exporter,
 * pulled on each scrape through the app's own `/metrics` route (no second HTTP server). With
 * `global: true` it is also registered as the global MeterProvider, which the broker reads by default.
 *
 * @example
 * const m = startMetrics({ global: true });
 * const app = createApp({ broker: createBroker({ ... }), metrics: m.handler, ... });
 */
export function startMetrics(options: { readonly global?: boolean } = {}): AppMetrics {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  if (options.global === true) metrics.setGlobalMeterProvider(meterProvider);
  return {
    meterProvider,
    handler: (req, res) => {
      exporter.getMetricsRequestHandler(req, res);
    },
    shutdown: () => meterProvider.shutdown(),
  };
}
