"""The emulator's in-memory instance: one lock, optional JSON persistence, projection lag.

Handlers run on the server's event loop while tests may read or change the store from another
thread (the threaded server, the official synchronous SDK), so every access goes through
``read()`` or ``write()``; ``write()`` persists the state when a state file is configured.
Searches see the store through ``searchable()``, which applies the configured projection lag.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from a4c.sandbox.zitadel.config import Behaviour, ZitadelConfig
from a4c.sandbox.zitadel.model import (
    AccessToken,
    AuthRequest,
    Email,
    Invite,
    Member,
    Metadatum,
    OidcApp,
    Org,
    OrgMetadatum,
    Project,
    ProjectGrant,
    ServiceKey,
    SigningKey,
    User,
    UserGrant,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
FIRST_ID = 330_000_000_000_000_000


@dataclass
class State:
    orgs: dict[str, Org] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    members: list[Member] = field(default_factory=list)
    projects: dict[str, Project] = field(default_factory=dict)
    project_grants: dict[str, ProjectGrant] = field(default_factory=dict)
    user_grants: dict[str, UserGrant] = field(default_factory=dict)
    user_metadata: list[Metadatum] = field(default_factory=list)
    org_metadata: list[OrgMetadatum] = field(default_factory=list)
    emails: list[Email] = field(default_factory=list)
    keys: dict[str, ServiceKey] = field(default_factory=dict)
    # Keyed by the SHA-256 of the token: the state file never holds a usable credential.
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    apps: dict[str, OidcApp] = field(default_factory=dict)
    # Kept across restarts so ID tokens issued before one still verify against /oauth/v2/keys.
    signing_keys: dict[str, SigningKey] = field(default_factory=dict)
    sequence: int = 0
    next_id: int = FIRST_ID


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    """The instance's state plus the clock, ids, lag and persistence around it."""

    def __init__(self, config: ZitadelConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.behaviour: Behaviour = config.behaviour()
        self.clock = clock
        self._lock = threading.RLock()
        # Deleted records stay visible to searches while the projection lags behind.
        self._removed: list[tuple[float, object]] = []
        self.pat_hash = token_hash(config.pat)
        # How often the zitadel/zitadel#10330 quirk answered success without creating (tests assert
        # they hit it).
        self.quirk_hits = 0
        # How many access tokens /oauth/v2/token issued (tests check that clients cache them).
        self.token_grants = 0
        # Pending and recent authorization requests by id (memory only; see AuthRequest).
        self.auth_requests: dict[str, AuthRequest] = {}
        self.state = self._load() or self._seed()

    def reset(self, clock: Callable[[], float] | None = None) -> None:
        """Back to a freshly seeded instance with the configured behaviour (tests share one server)."""
        with self._lock:
            self.clock = clock or self.clock
            self.behaviour = self.config.behaviour()
            self._removed.clear()
            self.auth_requests.clear()
            self.quirk_hits = self.token_grants = 0
            self.state = self._seed()
            self._save()

    @contextlib.contextmanager
    def read(self) -> Iterator[State]:
        with self._lock:
            yield self.state

    @contextlib.contextmanager
    def write(self) -> Iterator[State]:
        with self._lock:
            yield self.state
            self._save()

    def now(self) -> float:
        return self.clock()

    def new_id(self) -> str:
        with self._lock:
            self.state.next_id += 1
            return str(self.state.next_id)

    def next_sequence(self) -> int:
        with self._lock:
            self.state.sequence += 1
            return self.state.sequence

    def removed(self, record: object) -> None:
        """Remember a deleted record so lagging searches still return it for a while."""
        if self.behaviour.search_lag_seconds > 0:
            self._removed.append((self.now(), record))

    def searchable(self, live: Iterator[T] | list[T], kind: type[T]) -> list[T]:
        """What a search sees: records older than the lag, plus records deleted within it."""
        lag = self.behaviour.search_lag_seconds
        if lag <= 0:
            return list(live)
        horizon = self.now() - lag
        self._removed = [(at, r) for at, r in self._removed if at > horizon]
        ghosts = [r for _, r in self._removed if isinstance(r, kind)]
        return [r for r in [*live, *ghosts] if getattr(r, "created", 0.0) <= horizon]

    def caller(self, token: str) -> User | None:
        """The user a bearer token (the PAT or an issued access token) authenticates, if any."""
        digest = token_hash(token)
        with self._lock:
            if digest == self.pat_hash:
                return self.state.users.get(self.config.service_user_id)
            issued = self.state.tokens.get(digest)
            if issued is None or issued.expires <= self.now():
                return None
            return self.state.users.get(issued.user_id)

    def _seed(self) -> State:
        cfg, now = self.config, self.now()
        state = State(sequence=3)
        domain = org_domain(cfg.platform_org_name, cfg.instance_domain)
        state.orgs[cfg.platform_org_id] = Org(cfg.platform_org_id, cfg.platform_org_name, domain, now, now, 1)
        state.users[cfg.service_user_id] = User(
            id=cfg.service_user_id,
            org_id=cfg.platform_org_id,
            username=cfg.service_username,
            created=now,
            changed=now,
            sequence=2,
            machine=True,
            display_name=cfg.service_username,
            initialized=True,
            instance_roles=["IAM_OWNER"],
        )
        state.members.append(Member(cfg.platform_org_id, cfg.service_user_id, ["ORG_OWNER"]))
        state.projects[cfg.project_id] = Project(
            cfg.project_id, cfg.platform_org_id, cfg.project_name, list(cfg.role_keys), now, now, 3
        )
        return state

    def _load(self) -> State | None:
        path = self.config.state_file
        if path is None or not path.exists():
            return None
        raw = json.loads(path.read_text())
        state = _state_from_json(raw)
        # The configured project's roles follow the configuration, as an operator would edit them.
        project = state.projects.get(self.config.project_id)
        if project is not None:
            project.role_keys = list(dict.fromkeys([*project.role_keys, *self.config.role_keys]))
        log.info("zitadel sandbox state loaded from %s", path)
        return state

    def _save(self) -> None:
        path = self.config.state_file
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self.state), indent=1, sort_keys=True))
        os.replace(tmp, path)  # atomic: a crash never leaves half a file


def _slug(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum() or c == "-") or "org"


def org_domain(name: str, instance_domain: str) -> str:
    """Zitadel's generated primary domain: the lower-cased name without blanks, under the instance."""
    return f"{_slug(name.replace(' ', '-'))}.{instance_domain}"


_TYPES: dict[str, type[Any]] = {
    "orgs": Org,
    "users": User,
    "members": Member,
    "projects": Project,
    "project_grants": ProjectGrant,
    "user_grants": UserGrant,
    "user_metadata": Metadatum,
    "org_metadata": OrgMetadatum,
    "emails": Email,
    "keys": ServiceKey,
    "tokens": AccessToken,
    "apps": OidcApp,
    "signing_keys": SigningKey,
}


def _state_from_json(raw: dict[str, Any]) -> State:
    state = State(sequence=int(raw.get("sequence", 0)), next_id=int(raw.get("next_id", FIRST_ID)))
    for f in fields(State):
        cls = _TYPES.get(f.name)
        value = raw.get(f.name)
        if cls is None or value is None:
            continue
        if isinstance(value, list):
            setattr(state, f.name, [_record(cls, v) for v in value])
        else:
            setattr(state, f.name, {k: _record(cls, v) for k, v in value.items()})
    return state


def _record(cls: type[T], data: dict[str, Any]) -> T:
    if cls is User and data.get("invite"):
        data = {**data, "invite": Invite(**data["invite"])}
    return cls(**data)
