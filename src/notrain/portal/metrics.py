"""Prometheus metrics at ``/metrics``: HTTP traffic by route, and the registry's steps.

Each app has its own collector registry, so several apps in one process (tests) do not
collide. Routes are labelled by their template (``/requests/{request_id}``), never by the
raw path, which would hold request ids.
"""

from __future__ import annotations

import hmac
import ipaddress
import time

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE_LATEST
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from notrain.errors import MetricsForbidden


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "notrain_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "notrain_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.submitted = Counter(
            "notrain_requests_submitted_total",
            "Requests submitted through the portal, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.verified = Counter(
            "notrain_requests_verified_total",
            "Codes entered through the portal, by outcome (accepted, needs_review, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.verification_slowed = Counter(
            "notrain_verification_slowed_total",
            "Codes refused for a moment because failed verifications across all addresses "
            "passed their hourly ceiling (NOTRAIN_CODE_FAILURE_CEILING).",
            registry=self.registry,
        )
        self.verification_failures = Gauge(
            "notrain_verification_failures_last_hour",
            "Failed verifications over the last hour across all addresses, every process "
            "together (read from the registry when /metrics is asked).",
            registry=self.registry,
        )
        self.decided = Counter(
            "notrain_requests_decided_total",
            "Decisions taken in the console, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.mail_sent = Counter(
            "notrain_mail_sent_total", "Messages sent by the portal.", registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


def check_access(request: Request, token: str | None) -> None:
    """``/metrics`` says how many sign-ins failed and what was decided: it answers the holder
    of NOTRAIN_METRICS_TOKEN (``Authorization: Bearer``), or, without a token, loopback
    clients only (behind a proxy the forwarded client is the one that counts)."""
    if token is not None:
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), token.encode()
        ):
            return
        raise MetricsForbidden("metrics need the metrics token")
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise MetricsForbidden("metrics are served on the loopback interface only")


def route_template(scope: Scope) -> str:
    """The full template of the route that answered, such as ``/api/v1/requests/{request_id}``.

    A route of an included router knows only its path within that router (the API's status
    and the status page are both ``/requests/{request_id}`` there), so the router's prefix is
    taken back from the path actually asked for: parameters never span a ``/``, so the
    template's last segments are the path's last segments.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str) or not template.startswith("/"):
        return "unmatched"
    path = str(scope.get("path", ""))
    asked, own = path.split("/"), template.split("/")
    if len(asked) <= len(own):
        return template
    return "/".join(asked[: len(asked) - len(own) + 1]) + template


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            template = route_template(scope)
            self.metrics.http_requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.http_seconds.labels(template).observe(time.perf_counter() - start)
