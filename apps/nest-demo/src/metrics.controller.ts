import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';

/**
 * `GET /metrics` in Prometheus text format: Hush's counters and gauges (`hush_source_calls_total`,
 * `hush_rotations_total`, `hush_secret_age`…) from the OpenTelemetry `MeterProvider` the demo
 * built around this exporter. Names, versions, codes — never a value.
 */
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(PrometheusExporter) private readonly exporter: PrometheusExporter) {}

  @Get()
  metrics(@Req() req: IncomingMessage, @Res() res: ServerResponse): void {
    // The exporter collects, serializes and ends the response itself.
    this.exporter.getMetricsRequestHandler(req, res);
  }
}
