"""Operator roles: the identity platform's project roles mapped to what the console lets one do.

The console's own principal at provisioning holds every scope the console needs; which of them an
operator may use is decided here, per request, before any call is made (provisioning then records the
operator as the actor). ``read`` sees everything; ``operate`` also starts, cancels, retries and
offboards. An operator with neither role cannot sign in.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Protocol


class RoleKeys(Protocol):
    @property
    def role_operate(self) -> str: ...
    @property
    def role_read(self) -> str: ...


class Role(enum.Enum):
    NONE = "none"
    READ = "read"
    OPERATE = "operate"

    @classmethod
    def of(cls, roles: Iterable[str], keys: RoleKeys) -> Role:
        held = set(roles)
        if keys.role_operate in held:
            return cls.OPERATE
        if keys.role_read in held:
            return cls.READ
        return cls.NONE

    @property
    def may_act(self) -> bool:
        return self is Role.OPERATE

    @property
    def may_read(self) -> bool:
        return self in (Role.READ, Role.OPERATE)

    @property
    def label(self) -> str:
        return {"none": "no access", "read": "read-only", "operate": "operator"}[self.value]
