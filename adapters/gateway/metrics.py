"""
The gateway's metrics: OpenTelemetry instruments, exposed as Prometheus text on ``/metrics``.

Counters (attribute ``tenant``; ``status`` or ``kind`` where it helps):

* ``aigc_gateway_requests_total`` — requests answered (also ``status``),
* ``aigc_gateway_labeled_total`` — responses released labeled,
* ``aigc_gateway_opted_out_total`` — responses released without the visible label (Art. 9),
* ``aigc_gateway_upstream_errors_total`` — upstream failures (``kind``: ``status`` for a
  non-2xx answer, ``connect``, ``timeout``, ``stream`` for a broken stream, ``unlabelable``).

Histograms, in milliseconds, of what the gateway adds to the upstream's own latency:

* ``aigc_gateway_added_ttft_milliseconds`` — time to first byte added: from the request's
  arrival to its dispatch upstream, plus from the upstream's first byte to the client's first byte;
* ``aigc_gateway_chunk_added_milliseconds`` — per released chunk: from the arrival of the last
  upstream bytes it needed to its hand-off to the server.

**Why opentelemetry-exporter-prometheus, not prometheus-client directly.** The request path
already speaks OpenTelemetry (every labeled call is a span): with the metrics on the same API
an operator who runs an OpenTelemetry collector can add an OTLP reader for the same
instruments without code changes, while ``/metrics`` serves Prometheus as it is. The exporter
writes into a private ``prometheus_client`` registry per gateway app (not the global one), so
two apps in one process never mix their numbers. Each worker process keeps its own counters:
scrape each worker (or the pod; counters are per process, as with any non-multiprocess
Prometheus client).

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE", "GatewayMetrics"]

#: The Content-Type of the exposition.
CONTENT_TYPE = CONTENT_TYPE_LATEST

#: Histogram buckets in milliseconds: the gateway's overhead is sub-millisecond to a few ms.
_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1000.0)


class GatewayMetrics:
    """
    The instruments of one gateway app and their Prometheus exposition.

    .. versionadded:: 0.3.0
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._reader = PrometheusMetricReader(registry=self.registry, scope_info_enabled=False)
        views = [
            View(
                instrument_name="aigc_gateway_*_milliseconds",
                aggregation=ExplicitBucketHistogramAggregation(_BUCKETS),
            )
        ]
        self._provider = MeterProvider(metric_readers=[self._reader], views=views)
        meter = self._provider.get_meter("aigclabel.gateway")
        self.requests = meter.create_counter("aigc_gateway_requests", description="Requests answered.")
        self.labeled = meter.create_counter("aigc_gateway_labeled", description="Responses released labeled.")
        self.opted_out = meter.create_counter(
            "aigc_gateway_opted_out",
            description="Responses released without the visible label (Art. 9 opt-out).",
        )
        self.upstream_errors = meter.create_counter(
            "aigc_gateway_upstream_errors", description="Upstream failures, by kind."
        )
        self.added_ttft = meter.create_histogram(
            "aigc_gateway_added_ttft_milliseconds",
            unit="ms",
            description="Time to first byte added by the gateway.",
        )
        self.chunk_added = meter.create_histogram(
            "aigc_gateway_chunk_added_milliseconds",
            unit="ms",
            description="Latency added per released chunk.",
        )

    def exposition(self) -> bytes:
        """
        The current values in the Prometheus text format.
        """
        return bytes(generate_latest(self.registry))

    def shutdown(self) -> None:
        """
        Stop the meter provider (idempotent).
        """
        self._provider.shutdown()
