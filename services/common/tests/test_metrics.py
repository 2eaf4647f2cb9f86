"""The kit's metrics: URL templates without ids, the /metrics listener, RPC durations on a real server
and client (status codes included), and the retry loop's attempts, retries and failures by reason."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.common.client import open_channel
from a4c.common.config import ServerSettings
from a4c.common.deadline import Deadline
from a4c.common.metrics import Metrics, MetricsListener, url_template
from a4c.common.retry import RetryPolicy
from a4c.common.server import GrpcServer, create_server
from a4c.common.upstream import Failure, RetryLoop, UpstreamError

from .conftest import PRINCIPALS, TOKEN, all_bindings

pytestmark = pytest.mark.asyncio


class Throttled(UpstreamError):
    retryable = True


class Answer:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/zones", "/zones"),
        ("/zones/023e105f4ecef8ad9ca31a8372d0c353/dns_records", "/zones/{id}/dns_records"),
        ("/zones/abc/dns_records/372e67954025e0ba6aaa6d586b9e0b59?name=x", "/zones/abc/dns_records/{id}"),
        ("/v2/users/284736291837465/invite_code", "/v2/users/{id}/invite_code"),
        ("/management/v1/users/grants/_search", "/management/v1/users/grants/_search"),
        ("/admin/v1/orgs/acme-corp", "/admin/v1/orgs/{id}"),
        ("/v2/users/ada@acme.example", "/v2/users/{id}"),
        ("/zitadel.project.v2.ProjectService/GetProject", "/zitadel.project.v2.ProjectService/GetProject"),
        ("/x/" + "a" * 41, "/x/{id}"),
    ],
)
async def test_url_templates_keep_only_the_api_words(path: str, template: str) -> None:
    assert url_template(path) == template


@pytest.fixture
async def measured() -> AsyncIterator[tuple[Metrics, GrpcServer, MetricsListener]]:
    metrics = Metrics()
    settings = ServerSettings(host="127.0.0.1", port=0, principals=PRINCIPALS)
    server = create_server(settings, all_bindings(), metrics=metrics)
    listener = MetricsListener(metrics, "127.0.0.1", 0)
    await server.start()
    await listener.start()
    yield metrics, server, listener
    await listener.stop()
    await server.stop(0)


async def test_rpc_durations_on_both_sides_carry_method_and_status_code(measured) -> None:
    metrics, server, listener = measured
    async with open_channel(f"127.0.0.1:{server.port}", token=TOKEN, metrics=metrics) as channel:
        stub = dns_pb2_grpc.DnsServiceStub(channel)
        await stub.GetRecord(dns_pb2.GetRecordRequest(id="rec-1"), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.GetRecord(dns_pb2.GetRecordRequest(), timeout=5)  # INVALID_ARGUMENT (3)
    async with open_channel(f"127.0.0.1:{server.port}", token="wrong-token-0123456789") as channel:
        with pytest.raises(grpc.aio.AioRpcError):
            await dns_pb2_grpc.DnsServiceStub(channel).GetRecord(dns_pb2.GetRecordRequest(id="r"), timeout=5)

    async with httpx.AsyncClient() as http:
        answer = await http.get(f"http://127.0.0.1:{listener.port}/metrics")
        missing = await http.get(f"http://127.0.0.1:{listener.port}/")
    assert answer.status_code == 200
    assert missing.status_code == 404
    base = {"rpc_system": "grpc", "rpc_service": "a4c.api.dns.v1.DnsService", "rpc_method": "GetRecord"}

    def key(code: str) -> tuple[tuple[str, str], ...]:
        return tuple(sorted({**base, "rpc_grpc_status_code": code}.items()))

    server_counts = samples(answer.text, "rpc_server_call_duration_seconds_count")
    assert server_counts[key("0")] == 1
    assert server_counts[key("3")] == 1
    assert server_counts[key("16")] == 1  # UNAUTHENTICATED: rejected calls are measured too
    client_counts = samples(answer.text, "rpc_client_call_duration_seconds_count")
    assert client_counts == {key("0"): 1, key("3"): 1}  # the second channel had no metrics


async def test_the_retry_loop_counts_attempts_retries_and_failures_by_reason() -> None:
    metrics = Metrics()

    async def no_wait(_seconds: float) -> None:
        return None

    policy = RetryPolicy(max_attempts=3, base_delay=0.1, max_delay=0.1, max_retry_after=1.0)
    loop = RetryLoop("cloudflare", policy, ConnectionError, sleep=no_wait, metrics=metrics)
    answers = iter([Answer(429), Answer(429), Answer(429)])

    async def send() -> Answer:
        return next(answers)

    def classify(outcome: Answer | Exception) -> Failure:
        return Failure(Throttled("slow down", status=429), retry=True, retry_after=0.1)

    with pytest.raises(Throttled):
        await loop.run(
            "GET /zones/023e105f4ecef8ad9ca31a8372d0c353", send, classify, deadline=Deadline.after(30)
        )
    text = (await metrics.render()).decode()
    template = "/zones/{id}"
    attempts = samples(text, "http_client_request_duration_seconds_count")
    labels = {"upstream": "cloudflare", "http_request_method": "GET", "url_template": template}
    assert attempts == {
        tuple(sorted({**labels, "http_response_status_code": "429", "error_type": ""}.items())): 3
    }
    reason = tuple(
        sorted({"upstream": "cloudflare", "url_template": template, "reason": "throttled"}.items())
    )
    assert samples(text, "a4c_upstream_retries_total") == {reason: 2}
    assert samples(text, "a4c_upstream_failures_total") == {reason: 1}
