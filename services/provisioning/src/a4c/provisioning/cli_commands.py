"""The `a4c` subcommands: one gRPC call (or stream) each, printed by cli_output.

Unary calls are retried on UNAVAILABLE: every one of them is idempotent (bootstrap carries a request
id, cancel and retry-subdomain are no-ops when repeated). A watch that loses its connection resumes
after the last sequence it printed, so nothing is shown twice or skipped.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TextIO, TypeVar

import grpc
import tenacity

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.eventstore import BootstrapState, LifecycleStatus, SubdomainStatus
from a4c.provisioning import cli_output as show

T = TypeVar("T")
RETRY_DELAYS = (0.5, 1.0, 2.0)
WATCH_RECONNECTS = 10

BOOTSTRAP_CHOICES = tuple(state.value for state in BootstrapState)
SUBDOMAIN_CHOICES = tuple(status.value for status in SubdomainStatus)
LIFECYCLE_CHOICES = tuple(status.value for status in LifecycleStatus)


def _unavailable(error: BaseException) -> bool:
    return isinstance(error, grpc.aio.AioRpcError) and error.code() == grpc.StatusCode.UNAVAILABLE


def _while_unavailable(attempts: int) -> tenacity.AsyncRetrying:
    """Retry on UNAVAILABLE only, waiting 0.5 s, 1 s, then 2 s between attempts."""
    return tenacity.AsyncRetrying(
        retry=tenacity.retry_if_exception(_unavailable),
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_chain(*(tenacity.wait_fixed(d) for d in RETRY_DELAYS)),
        reraise=True,
    )


def organization_ref(value: str) -> dict[str, str]:
    """The request's `organization` oneof from a slug or an organization id."""
    try:
        return {"organization_id": str(uuid.UUID(value))}
    except ValueError:
        return {"slug": value}


class Commands:
    def __init__(
        self, stub: provisioning_pb2_grpc.ProvisioningServiceAsyncStub, out: TextIO, args: argparse.Namespace
    ):
        self._stub = stub
        self._out = out
        self._json: bool = args.json
        self._timeout: float = args.timeout

    async def _call(self, method: Callable[..., Awaitable[T]], request: Any) -> T:
        # The attempt form: a stub method returns an awaitable call, not a coroutine tenacity would await.
        async for attempt in _while_unavailable(len(RETRY_DELAYS) + 1):
            with attempt:
                return await method(request, timeout=self._timeout)
        raise AssertionError("unreachable")  # reraise=True: the last error leaves the loop

    async def bootstrap(self, args: argparse.Namespace) -> int:
        request = pb.BootstrapOrganizationRequest(
            name=args.name,
            slug=args.slug,
            admin=pb.Admin(
                email=args.admin_email, given_name=args.admin_given_name, family_name=args.admin_family_name
            ),
            request_id=args.request_id or str(uuid.uuid4()),
        )
        reply: pb.BootstrapOrganizationResponse = await self._call(self._stub.BootstrapOrganization, request)
        if self._json and not args.watch:
            show.print_json(show.as_dict(reply), self._out)
        elif not self._json:
            verb = "already started" if reply.already_existed else "started"
            self._out.write(f"bootstrap {verb}: {args.slug} → {reply.subdomain_fqdn}\n")
            self._out.write(f"organization {reply.organization_id}, workflow {reply.workflow_id}\n")
        if args.watch:
            return await self._watch({"organization_id": reply.organization_id}, 0)
        return 0

    async def status(self, args: argparse.Namespace) -> int:
        request = pb.GetBootstrapRequest(**organization_ref(args.organization))
        reply: pb.GetBootstrapResponse = await self._call(self._stub.GetBootstrap, request)
        if self._json:
            show.print_json(show.as_dict(reply.bootstrap), self._out)
        else:
            show.bootstrap(reply.bootstrap, self._out)
        return 0

    async def watch(self, args: argparse.Namespace) -> int:
        return await self._watch(organization_ref(args.organization), args.after)

    async def _watch(self, ref: dict[str, str], after: int) -> int:
        last = after

        async def follow() -> None:
            nonlocal last
            request = pb.WatchBootstrapRequest(**ref, after_sequence=last)  # resume after the last shown
            async for item in self._stub.WatchBootstrap(request):
                last = item.event.sequence
                if self._json:
                    show.print_json(show.as_dict(item), self._out)
                else:
                    self._out.write(show.progress_line(item) + "\n")
                    self._out.flush()

        await _while_unavailable(WATCH_RECONNECTS + 1)(follow)
        return await self._outcome(ref)

    async def _outcome(self, ref: dict[str, str]) -> int:
        """Summary after a watch; exit 0 only for a completed bootstrap with an active subdomain."""
        reply: pb.GetBootstrapResponse = await self._call(
            self._stub.GetBootstrap, pb.GetBootstrapRequest(**ref)
        )
        view = reply.bootstrap
        succeeded = (
            view.status == pb.BOOTSTRAP_STATUS_COMPLETED
            and view.subdomain_status == pb.SUBDOMAIN_STATUS_ACTIVE
        )
        if not self._json:
            self._out.write(
                f"bootstrap {show.bootstrap_status(view.status)}; subdomain {view.subdomain_fqdn} "
                f"{show.subdomain_status(view.subdomain_status)}\n"
            )
            if view.error:
                self._out.write(f"error: {view.error}\n")
        return 0 if succeeded else 1

    async def _pages(
        self, method: Callable[..., Awaitable[Any]], request: Any, field: str, limit: int = 0
    ) -> list[Any]:
        """Every item of a paged list call (up to `limit`, 0 for all), following next_page_token."""
        items: list[Any] = []
        while True:
            reply = await self._call(method, request)
            items += getattr(reply, field)
            if not reply.next_page_token or (limit and len(items) >= limit):
                return items[:limit] if limit else items
            request.page_token = reply.next_page_token

    async def orgs(self, args: argparse.Namespace) -> int:
        request = pb.ListOrganizationsRequest(
            subdomain_status=_enum(pb.SubdomainStatus, "SUBDOMAIN_STATUS_", args.subdomain_status),
            bootstrap_status=_enum(pb.BootstrapStatus, "BOOTSTRAP_STATUS_", args.bootstrap_status),
            lifecycle_status=_enum(pb.LifecycleStatus, "LIFECYCLE_STATUS_", args.lifecycle_status),
            page_size=args.page_size,
        )
        items = await self._pages(self._stub.ListOrganizations, request, "organizations", args.limit)
        if self._json:
            show.print_json([show.as_dict(o) for o in items], self._out)
        else:
            show.organizations(items, self._out)
        return 0

    async def events(self, args: argparse.Namespace) -> int:
        request = pb.ListOrganizationEventsRequest(**organization_ref(args.organization), page_size=1000)
        items = await self._pages(self._stub.ListOrganizationEvents, request, "events")
        if self._json:
            show.print_json([show.as_dict(e) for e in items], self._out)
        else:
            show.events(items, self._out)
        return 0

    async def cancel(self, args: argparse.Namespace) -> int:
        request = pb.CancelBootstrapRequest(**organization_ref(args.organization), reason=args.reason)
        reply: pb.CancelBootstrapResponse = await self._call(self._stub.CancelBootstrap, request)
        if self._json:
            show.print_json(show.as_dict(reply), self._out)
        elif reply.cancel_requested:
            self._out.write("cancellation requested; compensation will undo what was done\n")
        else:
            self._out.write(f"nothing to cancel: the bootstrap is {show.bootstrap_status(reply.status)}\n")
        return 0

    async def retry_subdomain(self, args: argparse.Namespace) -> int:
        request = pb.RetrySubdomainRequest(**organization_ref(args.organization))
        reply: pb.RetrySubdomainResponse = await self._call(self._stub.RetrySubdomain, request)
        if self._json:
            show.print_json(show.as_dict(reply), self._out)
        else:
            self._out.write(f"subdomain workflow {reply.workflow_id} running (run {reply.run_id})\n")
        return 0

    async def offboard(self, args: argparse.Namespace) -> int:
        request = pb.OffboardOrganizationRequest(
            **organization_ref(args.organization), reason=args.reason, request_id=str(uuid.uuid4())
        )
        reply: pb.OffboardOrganizationResponse = await self._call(self._stub.OffboardOrganization, request)
        if self._json:
            show.print_json(show.as_dict(reply), self._out)
            return 0
        verb = "already offboarding" if reply.already_existed else "offboarding started"
        lifecycle = show.lifecycle_status(reply.lifecycle_status)
        self._out.write(f"{verb}: organization {reply.organization_id} is {lifecycle}\n")
        if reply.lifecycle_status == pb.LIFECYCLE_STATUS_OFFBOARDING and reply.HasField("delete_after"):
            self._out.write(
                f"its identity organization is deleted after {show.when(reply.delete_after)} UTC; "
                f"until then `a4c cancel-offboarding {args.organization}` restores it\n"
            )
        return 0

    async def cancel_offboarding(self, args: argparse.Namespace) -> int:
        request = pb.CancelOffboardingRequest(
            **organization_ref(args.organization), reason=args.reason, request_id=str(uuid.uuid4())
        )
        reply: pb.CancelOffboardingResponse = await self._call(self._stub.CancelOffboarding, request)
        if self._json:
            show.print_json(show.as_dict(reply), self._out)
        elif reply.cancelled:
            self._out.write("offboarding cancelled: identity reactivated, subdomain being restored\n")
        else:
            self._out.write("the offboarding was already cancelled\n")
        return 0

    async def reconcile(self, args: argparse.Namespace) -> int:
        reply: pb.PreviewDriftResponse = await self._call(self._stub.PreviewDrift, pb.PreviewDriftRequest())
        if self._json:
            show.print_json(show.as_dict(reply), self._out)
        else:
            show.drift(reply, self._out)
        return 0


def _enum(enum: Any, prefix: str, value: str | None) -> Any:
    """The enum number for a lowercase choice such as "active" (0, any, when not given)."""
    return 0 if value is None else enum.Value(prefix + value.upper())
