"""Personal data out of Temporal history: a bootstrap through the codec leaves none of it in clear.

The session's dev server, our own client and worker with the codec on; the history is then read
raw (the system's client has no codec) and through the codec endpoint with the temporal CLI.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from temporalio.client import Client

from a4c.devstack.system import System
from a4c.devstack.temporal import temporal_binary
from a4c.worker.runner import build_worker
from a4c.workflows import search
from a4c.workflows.codec import PayloadKeys, data_converter
from a4c.workflows.models import (
    BOOTSTRAP_WORKFLOW,
    BootstrapInput,
    BootstrapResult,
    SubdomainResult,
    bootstrap_workflow_id,
    subdomain_workflow_id,
)

KEYS = PayloadKeys.generate("k1")
CODEC_TOKEN = "codec-endpoint-token-0123456789"


def personal(request: BootstrapInput) -> list[str]:
    return [request.admin_email, request.admin_given_name, request.admin_family_name, request.name]


@pytest.fixture(scope="module")
def codec_endpoint() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "a4c.workflows.codec_server"],
        env={
            **os.environ,
            "A4C_PAYLOAD_KEYS": KEYS,
            "A4C_CODEC_AUTH_TOKENS": CODEC_TOKEN,
            "A4C_CODEC_HOST": "127.0.0.1",
            "A4C_CODEC_PORT": "0",
        },
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("codec server listening on "), line
    yield line.rsplit(" ", 1)[1].strip()
    process.terminate()
    process.wait(timeout=10)


async def show(system: System, workflow_id: str, *codec: str) -> str:
    done = await asyncio.to_thread(
        subprocess.run,
        [
            temporal_binary(),
            "workflow",
            "show",
            "--workflow-id",
            workflow_id,
            "--address",
            system.client.service_client.config.target_host,
            "--namespace",
            system.client.namespace,
            "--output",
            "json",
            *codec,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


async def test_no_email_name_or_organization_name_is_in_clear_in_the_history(
    system: System, codec_endpoint: str
) -> None:
    sealed = await Client.connect(
        system.client.service_client.config.target_host,
        namespace=system.client.namespace,
        data_converter=data_converter(PayloadKeys.parse(KEYS)),
    )
    slug = f"sealed-{uuid.uuid4().hex[:6]}"
    request = replace(
        system.bootstrap_input(slug, name="Kingsbury Sealed Clinic"),
        admin_email=f"augustina.kingsbury@{slug}.example",
        admin_given_name="Augustina",
        admin_family_name="Kingsbury-Lovelace",
    )
    queue = f"a4c-sealed-{uuid.uuid4().hex[:8]}"
    async with build_worker(
        sealed,
        queue,
        system.upstreams,
        system.store,
        policy=system.worker_policy,
        graceful_shutdown_seconds=1,
    ):
        handle = await sealed.start_workflow(
            BOOTSTRAP_WORKFLOW,
            request,
            id=bootstrap_workflow_id(request.organization_id),
            task_queue=queue,
            result_type=BootstrapResult,
            search_attributes=search.initial(request.organization_id, request.slug, "initiated"),
        )
        assert (await handle.result()).status == "completed"
        child = sealed.get_workflow_handle(
            subdomain_workflow_id(request.organization_id), result_type=SubdomainResult
        )
        assert (await child.result()).status == "active"

    for workflow_id in (handle.id, child.id):
        # The system's client has no codec: these are the bytes Temporal stores and shows.
        history = await system.client.get_workflow_handle(workflow_id).fetch_history()
        raw = b"".join(event.SerializeToString() for event in history.events)
        assert request.organization_id.encode() in raw  # the right history: ids stay readable
        for clear in personal(request):
            assert clear.encode() not in raw, f"{clear!r} in clear in {workflow_id}"
            assert clear not in history.to_json()

    history = await system.client.get_workflow_handle(handle.id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert await sealed.data_converter.decode(started.input.payloads, [BootstrapInput]) == [request]

    # The temporal CLI shows ciphertext, unless it decodes through the codec endpoint.
    assert started_input(await show(system, handle.id)) == (b"binary/encrypted", None)
    decoded = await show(
        system, handle.id, "--codec-endpoint", codec_endpoint, "--codec-auth", f"Bearer {CODEC_TOKEN}"
    )
    encoding, data = started_input(decoded)
    assert encoding == b"json/plain"
    assert data is not None
    assert json.loads(data)["admin_email"] == request.admin_email


def started_input(shown: str) -> tuple[bytes, bytes | None]:
    """Encoding and (if readable JSON) data of the workflow input in `temporal workflow show` JSON."""
    (payload,) = json.loads(shown)["events"][0]["workflowExecutionStartedEventAttributes"]["input"][
        "payloads"
    ]
    encoding = base64.b64decode(payload["metadata"]["encoding"])
    return encoding, base64.b64decode(payload["data"]) if encoding == b"json/plain" else None
