"""Server-sent events: one organization's events (WatchBootstrap), and the list page's statuses.

An organization's stream carries each event with its global sequence as the SSE ``id``; a browser
that reconnects sends it back as ``Last-Event-ID`` and the watch resumes after it, so nothing is lost
or repeated. When the watch ends (nothing more will change) an ``end`` event tells the page to stop
listening instead of reconnecting. The list has no server-side stream to follow, so its endpoint
re-reads the rows the page shows that are not settled yet, every few seconds, and sends what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.console import access, presentation
from a4c.console.provisioning import NotFound, ProvisioningError
from a4c.console.web import console_of

LIST_POLL_SECONDS = 2.0
MAX_LIST_IDS = 100
KEEPALIVE_SECONDS = 15.0
HEADERS = {"cache-control": "no-store", "x-accel-buffering": "no"}


def message(data: Any, *, event: str | None = None, id: int | None = None) -> str:
    lines = [f"id: {id}"] if id is not None else []
    lines += [f"event: {event}"] if event else []
    lines.append(f"data: {json.dumps(data, separators=(',', ':'))}")
    return "\n".join(lines) + "\n\n"


def _after(request: Request) -> int:
    for raw in (request.headers.get("last-event-id"), request.query_params.get("after")):
        if raw and raw.isdigit():
            return int(raw)
    return 0


async def organization_events(request: Request) -> Response:
    try:
        session = access.reader(request)
    except access.SignInFirst:
        return Response("sign in first", status_code=401)
    organization_id = request.path_params["organization_id"]
    try:
        uuid.UUID(organization_id)
    except ValueError:
        raise NotFound("no such organization") from None
    provisioning = console_of(request).provisioning
    after = _after(request)

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        try:
            async for item in _with_keepalive(
                provisioning.watch(session.login or "", organization_id, after)
            ):
                if item is None:
                    yield ": keepalive\n\n"
                    continue
                event = item.event
                data = {
                    "sequence": event.sequence,
                    "version": event.stream_version,
                    "type": event.event_type,
                    "at": presentation.when(event.created_at),
                    "actor": event.metadata.fields["actor"].string_value
                    if "actor" in event.metadata.fields
                    else "",
                    "bootstrap": presentation.bootstrap_badge(item.bootstrap_status).text,
                    "subdomain": presentation.subdomain_badge(item.subdomain_status).text,
                }
                yield message(data, event="organization", id=event.sequence)
            yield message({}, event="end")
        except ProvisioningError as error:
            yield message({"message": error.message}, event="problem")

    return StreamingResponse(stream(), media_type="text/event-stream", headers=HEADERS)


async def _with_keepalive(items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """``items`` with a None whenever nothing came for KEEPALIVE_SECONDS (proxies drop idle streams)."""
    iterator = items.__aiter__()
    pending: asyncio.Task[Any] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=KEEPALIVE_SECONDS)
            if not done:
                yield None
                continue
            task, pending = pending, None
            try:
                item = task.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None:  # the browser went away mid-wait: finish the read before closing
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        closing = getattr(iterator, "aclose", None)
        if closing is not None:
            await closing()


async def organization_list(request: Request) -> Response:
    try:
        session = access.reader(request)
    except access.SignInFirst:
        return Response("sign in first", status_code=401)
    ids = [i for i in request.query_params.get("ids", "").split(",") if _is_uuid(i)][:MAX_LIST_IDS]
    provisioning = console_of(request).provisioning

    async def stream() -> AsyncIterator[str]:
        yield "retry: 5000\n\n"
        shown: dict[str, tuple[int, int]] = {}
        watching = list(ids)
        while watching:
            for organization_id in list(watching):
                try:
                    found = await provisioning.organization(session.login or "", organization_id)
                except NotFound:
                    watching.remove(organization_id)
                    continue
                except ProvisioningError as error:
                    yield message({"message": error.message}, event="problem")
                    break
                state = (found.bootstrap_status, found.subdomain_status)
                if shown.get(organization_id) != state:
                    shown[organization_id] = state
                    yield message(_row(found), event="row")
                if presentation.is_final(*state):
                    watching.remove(organization_id)
            if watching:
                await asyncio.sleep(LIST_POLL_SECONDS)
            else:
                yield ": settled\n\n"
        yield message({}, event="end")

    return StreamingResponse(stream(), media_type="text/event-stream", headers=HEADERS)


def _row(found: pb.Organization) -> dict[str, str]:
    bootstrap = presentation.bootstrap_badge(found.bootstrap_status)
    subdomain = presentation.subdomain_badge(found.subdomain_status)
    return {
        "id": found.id,
        "bootstrap": bootstrap.text,
        "bootstrap_css": bootstrap.css,
        "subdomain": subdomain.text,
        "subdomain_css": subdomain.css,
    }


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
