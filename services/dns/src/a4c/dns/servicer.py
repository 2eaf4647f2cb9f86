"""a4c.api.dns.v1.DnsService: protos in, domain calls, protos out. Decisions live in records.py
and propagation.py, the service's policy (what it will write) in policy.py, the error mapping in
errors.py. The caller's gRPC deadline becomes one
:class:`Deadline` here, handed unchanged to every upstream call the request makes."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.common.auth import MethodScopes
from a4c.common.deadline import Deadline
from a4c.common.paging import PageTokens
from a4c.dns.cloudflare import DnsRecord
from a4c.dns.errors import grpc_errors
from a4c.dns.policy import PolicyChecker, RecordPolicy
from a4c.dns.propagation import Expectation, PropagationChecker
from a4c.dns.records import CreateSpec, Ownership, RecordManager
from a4c.dns.validation import next_page_token

log = logging.getLogger(__name__)
Context = grpc.aio.ServicerContext[Any, Any]

_TYPE_NAMES = {
    dns_pb2.RECORD_TYPE_A: "A",
    dns_pb2.RECORD_TYPE_AAAA: "AAAA",
    dns_pb2.RECORD_TYPE_CNAME: "CNAME",
    dns_pb2.RECORD_TYPE_TXT: "TXT",
}
_TYPE_VALUES = {name: value for value, name in _TYPE_NAMES.items()}


# Only the worker's principal holds `write`; an operator may hold `read` (the README's trust model).
SCOPES = MethodScopes(
    {
        "CreateRecord": "write",
        "GetRecord": "read",
        "ListRecords": "read",
        "DeleteRecord": "write",
        "CheckPropagation": "read",
        "GetZoneUsage": "read",
        "ListOwnedRecords": "read",
    }
)


class DnsServicer(dns_pb2_grpc.DnsServiceServicer):
    def __init__(
        self,
        records: RecordManager,
        propagation: PropagationChecker,
        policy: RecordPolicy,
        *,
        upstream_timeout: float = 30.0,
        page_tokens: PageTokens,
    ) -> None:
        self._page_tokens = page_tokens
        self._records = records
        self._propagation = propagation
        self._policy = policy
        self._upstream_timeout = upstream_timeout

    def _checker(self) -> PolicyChecker:
        return PolicyChecker(self._policy)

    def _deadline(self, context: Context) -> Deadline:
        return Deadline.from_context(context, default=self._upstream_timeout)

    @grpc_errors
    async def CreateRecord(
        self, request: dns_pb2.CreateRecordRequest, context: Context
    ) -> dns_pb2.CreateRecordResponse:
        # Every field is judged against the policy: a caller cannot choose the zone, the kind of
        # name, the type, the target or the proxying of a record.
        check = self._checker()
        zone = check.served_zone(request.zone)
        name = check.subdomain(request.name, zone)
        type_ = check.subdomain_type(check.type(_TYPE_NAMES.get(request.type, "")))
        proxied = check.proxy_setting(type_, request.proxied)
        spec = CreateSpec(
            zone=zone,
            name=name,
            type=type_,
            content=check.target(type_, request.content, name),
            ttl=check.ttl(request.ttl, proxied),
            proxied=proxied,
            owner=check.owner(request.owner, required=True),
        )
        check.done()
        outcome = await self._records.create(spec, self._deadline(context))
        log.info(
            "record %s %s %s: created=%s updated=%s",
            outcome.record.id,
            spec.type,
            spec.name,
            outcome.created,
            outcome.updated,
            extra={"owner": spec.owner, "request_id": request.request_id},
        )
        return dns_pb2.CreateRecordResponse(
            record=to_proto(outcome.record), created=outcome.created, updated=outcome.updated
        )

    @grpc_errors
    async def GetRecord(
        self, request: dns_pb2.GetRecordRequest, context: Context
    ) -> dns_pb2.GetRecordResponse:
        check = self._checker()
        zone = check.served_zone(request.zone)
        record_id = check.record_id(request.id)
        check.done()
        record = await self._records.get(zone, record_id, self._deadline(context))
        return dns_pb2.GetRecordResponse(record=to_proto(record))

    @grpc_errors
    async def ListRecords(
        self, request: dns_pb2.ListRecordsRequest, context: Context
    ) -> dns_pb2.ListRecordsResponse:
        check = self._checker()
        zone = check.served_zone(request.zone)
        name = check.name(request.name, zone, required=False)
        type_ = check.type(_TYPE_NAMES.get(request.type, "")) if request.type else ""
        size = check.page_size(request.page_size)
        query = (zone, name, type_, size)
        page = check.page_token(request.page_token, query, self._page_tokens)
        check.done()
        result = await self._records.list(zone, name, type_, page, size, self._deadline(context))
        next_token = next_page_token(page + 1, query, self._page_tokens) if page < result.total_pages else ""
        return dns_pb2.ListRecordsResponse(
            records=[to_proto(r) for r in result.records], next_page_token=next_token
        )

    @grpc_errors
    async def ListOwnedRecords(
        self, request: dns_pb2.ListOwnedRecordsRequest, context: Context
    ) -> dns_pb2.ListOwnedRecordsResponse:
        check = self._checker()
        zone = check.served_zone(request.zone)
        size = check.owned_page_size(request.page_size)
        query = ("owned", zone, size)
        page = check.page_token(request.page_token, query, self._page_tokens)
        check.done()
        result = await self._records.list_owned(zone, page, size, self._deadline(context))
        next_token = next_page_token(page + 1, query, self._page_tokens) if page < result.total_pages else ""
        return dns_pb2.ListOwnedRecordsResponse(
            records=[to_proto(r) for r in result.records], next_page_token=next_token
        )

    @grpc_errors
    async def DeleteRecord(
        self, request: dns_pb2.DeleteRecordRequest, context: Context
    ) -> dns_pb2.DeleteRecordResponse:
        check = self._checker()
        zone = check.served_zone(request.zone)
        record_id = check.record_id(request.id)
        # The owner is mandatory: a delete without one could remove any record A4C manages.
        owner = check.owner(request.owner, required=True)
        check.done()
        deleted = await self._records.delete(zone, record_id, owner, self._deadline(context))
        log.info(
            "record %s: deleted=%s",
            record_id,
            deleted,
            extra={"owner": owner, "request_id": request.request_id},
        )
        return dns_pb2.DeleteRecordResponse(deleted=deleted)

    @grpc_errors
    async def CheckPropagation(
        self, request: dns_pb2.CheckPropagationRequest, context: Context
    ) -> dns_pb2.CheckPropagationResponse:
        # A read (it only asks nameservers), so any name and type in the served zone may be checked.
        check = self._checker()
        zone = check.served_zone(request.zone)
        name = check.name(request.name, zone)
        type_ = check.type(_TYPE_NAMES.get(request.type, ""))
        proxied = check.proxied(type_, request.proxied)
        content = "" if proxied else check.content(type_, request.expected_content, name, "expected_content")
        check.done()
        expect = Expectation(name, type_, content, proxied)
        result = await self._propagation.check(zone, expect, self._deadline(context))
        return dns_pb2.CheckPropagationResponse(
            propagated=result.propagated,
            answers=[
                dns_pb2.NameserverAnswer(
                    nameserver=a.nameserver,
                    matches=a.matches,
                    rcode=a.rcode,
                    answers=list(a.answers),
                    detail=a.detail,
                )
                for a in result.answers
            ],
        )

    @grpc_errors
    async def GetZoneUsage(
        self, request: dns_pb2.GetZoneUsageRequest, context: Context
    ) -> dns_pb2.GetZoneUsageResponse:
        check = self._checker()
        zone = check.served_zone(request.zone)
        check.done()
        usage = await self._records.quota.usage(zone, self._deadline(context))
        return dns_pb2.GetZoneUsageResponse(
            zone=usage.zone,
            records_used=usage.used,
            record_quota=usage.quota,
            cloudflare_record_quota=usage.cloudflare_quota or 0,
            records_available=usage.available,
        )


def to_proto(record: DnsRecord) -> dns_pb2.Record:
    ownership = Ownership.of(record)
    return dns_pb2.Record(
        id=record.id,
        zone=record.zone,
        name=record.name,
        type=_TYPE_VALUES.get(record.type, dns_pb2.RECORD_TYPE_UNSPECIFIED),
        content=record.content,
        ttl=record.ttl,
        proxied=record.proxied,
        owner=ownership.owner,
        managed=ownership.managed,
        created_at=_timestamp(record.created_on),
        modified_at=_timestamp(record.modified_on),
    )


def _timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp
