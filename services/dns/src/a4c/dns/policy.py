"""The DNS service's own policy: which records it will write, whatever its caller says (issue 14).

The service distrusts its callers (Temporal, and so any workflow input, is a boundary too), so it
decides from its own settings alone:

- only the configured zone, for reads and writes (never the other environment's zone);
- a written name is exactly ``<label>.<zone>``: one label, which passes the tenant slug rules and
  the reserved list of a4c.common.names (so no apex, ``*``, ``_acme-challenge``, ``xn--`` look-alike,
  ``www``, ``app``, ``mail`` …) and is not a configured target itself;
- a written record is what a tenant's subdomain is and nothing else: a CNAME to one of the
  configured targets, proxied exactly as configured;
- an owner on every create, update and delete, checked against the record's ownership marker
  (records.py): a record whose marker names another owner, or that has none, is never touched.

A request outside the policy is INVALID_ARGUMENT naming every offending field, before any upstream
call; an ownership conflict is FAILED_PRECONDITION (errors.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from a4c.common.names import RESERVED_SLUGS, slug_problem
from a4c.dns.validation import Checker

SUBDOMAIN_TYPE = "CNAME"


@dataclass(frozen=True)
class RecordPolicy:
    zone: str
    targets: tuple[str, ...]
    proxied: bool
    reserved: frozenset[str] = RESERVED_SLUGS

    @classmethod
    def for_zone(cls, zone: str, targets: tuple[str, ...] = (), proxied: bool = True) -> RecordPolicy:
        """The default policy of a zone: CNAMEs to ``app.<zone>``, proxied."""
        return cls(zone, targets or (f"app.{zone}",), proxied)


class PolicyChecker(Checker):
    """The field checks of :class:`Checker` plus the service's policy."""

    def __init__(self, policy: RecordPolicy) -> None:
        super().__init__()
        self.policy = policy

    def served_zone(self, raw: str) -> str:
        """The request's zone (empty: the configured one); any other zone is refused."""
        zone = self.zone(raw, self.policy.zone)
        if zone and zone != self.policy.zone:
            self.add("zone", f"only {self.policy.zone} is served by this service")
            return ""
        return zone

    def subdomain(self, raw: str, zone: str) -> str:
        """A tenant subdomain ``<label>.<zone>``: the only kind of name this service writes."""
        name = self.name(raw, zone)
        if not name or not zone or not name.endswith("." + zone):
            if name == zone and zone:
                self.add("name", "must be <label>.<zone>: the zone apex is not a tenant subdomain")
            return name
        label = name.removesuffix("." + zone)
        if "." in label:
            self.add("name", "must be <label>.<zone>: one label, no deeper names")
        elif name in self.policy.targets:
            self.add("name", "is the subdomain target itself")
        elif problem := slug_problem(label, self.policy.reserved):
            self.add("name", f"label {problem}")
        return name

    def subdomain_type(self, type_: str) -> str:
        if type_ and type_ != SUBDOMAIN_TYPE:
            self.add("type", "must be RECORD_TYPE_CNAME: this service writes tenant subdomains only")
        return type_

    def target(self, type_: str, raw: str, name: str) -> str:
        content = self.content(type_, raw, name) if type_ else ""
        if content and type_ == SUBDOMAIN_TYPE and content not in self.policy.targets:
            self.add("content", f"must be the configured subdomain target ({', '.join(self.policy.targets)})")
        return content

    def proxy_setting(self, type_: str, proxied: bool) -> bool:
        proxied = self.proxied(type_, proxied)
        if proxied != self.policy.proxied:
            self.add("proxied", f"must be {str(self.policy.proxied).lower()}, as this service is configured")
        return proxied
