"""The one wiring table: each part's environment, given where the other parts are.

Three harnesses start the same parts: `make run` (a4c.devstack.stack: processes on fixed ports), the
tests (a4c.devstack.system and the services' conftests: in process, free ports) and the bench
(bench/stack.py: processes, free ports). Each says *where* things are in a `Wiring` and asks it for
a part's environment, so a part's variables are named here and nowhere else:

    wiring = Wiring(TOKEN, {"dns": "127.0.0.1:0", "sandbox-cloudflare": ..., "sandbox-dns": ...})
    env = wiring.env("dns")        # A4C_GRPC_*, A4C_AUTH_PRINCIPALS, CLOUDFLARE_* at the sandbox, ...

Addresses are host:port under the stack's part names (a4c.devstack.stack.ports.PORTS); port 0 lets
a part bind a free one (an in-process server reports it; `at()` passes it on). A part run as several
replicas has a comma list there: `env(part, replica=i)` binds the i-th, and its callers dial them all
(`client_target`: gRPC's client-side round robin over the list). What is neither an
address nor a credential (how fast a subdomain is checked, how long a stop may take) is the
harness's `Profile`: STACK, TESTS or BENCH. A caller's own environment beats a profile, never the
wiring.

Credentials follow the trust model (README): the operator's token (`token`: the demo, the CLI, the
tests' calls to provisioning) is provisioning's `operator` principal and nothing else; the worker's
(`service_token`) is the dns and identity services' `worker` principal and nothing else.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from a4c.sandbox.cloudflare.app import BASE_PATH, DEFAULT_TOKEN
from a4c.sandbox.zitadel.config import ZitadelConfig
from a4c.workflows.models import BootstrapInput, StepTimeouts, SubdomainInput, VerificationPolicy

HOST = "127.0.0.1"
ZONE = "firstovertheline.com"
ENVIRONMENT = "development"
PARTS = ("sandbox", "migrate", "temporal", "dns", "identity", "provisioning", "worker", "console")


@dataclass(frozen=True)
class Profile:
    """Settings a harness picks for speed or visibility rather than for wiring."""

    verification: VerificationPolicy | None = None  # None: the provisioning service's and worker's defaults
    timeouts: StepTimeouts | None = None  # None: the provisioning service's and worker's defaults
    shutdown_grace_seconds: float | None = None  # None: each part's default
    extra: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # part -> more settings

    def env(self, part: str) -> dict[str, str]:
        env: dict[str, str] = {}
        # Both hold the policy: the provisioning service fills the workflow input, the worker checks it
        # and runs with its own (a4c.worker.policy).
        if part in ("provisioning", "worker") and self.verification is not None:
            env |= verification_env(self.verification)
        if part in ("provisioning", "worker") and self.timeouts is not None:
            env["A4C_STEP_ATTEMPT_SECONDS"] = _number(self.timeouts.attempt_seconds)
            env["A4C_STEP_TOTAL_SECONDS"] = _number(self.timeouts.total_seconds)
            env["A4C_STEP_HEARTBEAT_SECONDS"] = _number(self.timeouts.heartbeat_seconds)
        if part in ("dns", "identity", "provisioning", "worker") and self.shutdown_grace_seconds is not None:
            env["A4C_SHUTDOWN_GRACE_SECONDS"] = _number(self.shutdown_grace_seconds)
        return {**env, **self.extra.get(part, {})}


# make run: the demo's subdomain is checked every second or so, after a propagation delay long
# enough to watch it go from verifying to active; a local stop does not wait a production grace.
STACK = Profile(
    verification=VerificationPolicy(
        first_check_seconds=1, initial_interval_seconds=1, max_interval_seconds=5, deadline_seconds=300
    ),
    shutdown_grace_seconds=2,
    extra={"sandbox": {"SANDBOX_PROPAGATION_DELAY_SECONDS": "3"}},
)
# Tests and the bench: the sandbox's DNS answers at once, so the subdomain is checked every 100 ms.
FAST_CHECKS = VerificationPolicy(
    first_check_seconds=0.05, initial_interval_seconds=0.1, max_interval_seconds=0.5, deadline_seconds=20
)
# Tests: give up after 20 s; short step timeouts so a failure shows in seconds, and a heartbeat
# timeout well below the attempt's so a crash test tells them apart.
# Tests bootstrap many organizations and watch each a hundred times as one principal: the limits
# (tested on their own) stay out of the way.
UNLIMITED_BOOTSTRAPS = {
    "A4C_BOOTSTRAP_BURST": "1000",
    "A4C_BOOTSTRAP_RATE_PER_MINUTE": "6000",
    "A4C_WATCH_STREAMS_PER_PRINCIPAL": "400",
    "A4C_WATCH_STREAMS_PER_SERVER": "400",
}
# The per-upstream queues' server-side rate limits (a4c.workflows.queues) off: tests and the bench
# bootstrap far faster than Cloudflare's real 1,200 per 5 minutes allows (the bench turns the sandbox's
# copy of that limit off too); tests/test_replicas.py sets test-sized limits and checks they hold.
NO_QUEUE_RATES = {
    "A4C_CLOUDFLARE_ACTIVITIES_PER_SECOND": "0",
    "A4C_ZITADEL_ACTIVITIES_PER_SECOND": "0",
    "A4C_NAMESERVERS_ACTIVITIES_PER_SECOND": "0",
}

# Worker processes of tests and the bench leave the reconciler's schedule alone: a scheduled run
# would repair what a test broke on purpose (the reconciler's tests start their runs themselves).
NO_RECONCILE_SCHEDULE = {"A4C_RECONCILE_INTERVAL_SECONDS": "0"}
TESTS = Profile(
    verification=FAST_CHECKS,
    timeouts=StepTimeouts(attempt_seconds=5, total_seconds=30, heartbeat_seconds=1.5),
    shutdown_grace_seconds=1,
    extra={"provisioning": UNLIMITED_BOOTSTRAPS, "worker": {**NO_QUEUE_RATES, **NO_RECONCILE_SCHEDULE}},
)
BENCH_RECORD_QUOTA = "1000000"
# The bench: the production step timeouts; 60 s for a subdomain queued behind hundreds of others.
BENCH = Profile(
    verification=replace(FAST_CHECKS, deadline_seconds=60),
    shutdown_grace_seconds=1,
    extra={
        # Cloudflare's own ceiling (1,200 per 5 minutes): a bench run stays under it. A run creates
        # thousands of records, far past a Free zone's 200: the zone's quota is raised for it (as
        # Cloudflare does on request), in the sandbox and in the service's setting alike.
        "dns": {
            "CLOUDFLARE_MAX_REQUESTS_PER_5MIN": "1200",
            "CLOUDFLARE_ZONE_RECORD_QUOTA": BENCH_RECORD_QUOTA,
        },
        # The emulator's copy of that limit would cap a run at ~550 subdomains (list + create each),
        # and the hop benchmark's direct calls share the token: off. The DNS service keeps its budget.
        # Likewise the 200 requests per second per IP: the hop benchmark measures latency, not throttling.
        "sandbox": {
            "SANDBOX_CLOUDFLARE_RATE_LIMIT": "off",
            "SANDBOX_CLOUDFLARE_IP_RATE_LIMIT": "off",
            "SANDBOX_CLOUDFLARE_RECORD_QUOTA": BENCH_RECORD_QUOTA,
        },
        "worker": {**NO_QUEUE_RATES, **NO_RECONCILE_SCHEDULE},
        # The bench bootstraps hundreds at once as one operator, and watches as many streams.
        "provisioning": {
            **UNLIMITED_BOOTSTRAPS,
            "A4C_WATCH_STREAMS_PER_PRINCIPAL": "5000",
            "A4C_WATCH_STREAMS_PER_SERVER": "5000",
            "A4C_GRPC_MAX_CONCURRENT_RPCS": "10000",
        },
    },
)


class CloudflareEmulator(Protocol):
    """What the wiring reads from an in-process Cloudflare sandbox (a4c.devstack.emulators)."""

    @property
    def api_address(self) -> str: ...
    @property
    def nameserver(self) -> str: ...
    @property
    def token(self) -> str: ...


class ZitadelEmulator(Protocol):
    @property
    def address(self) -> str: ...
    @property
    def config(self) -> ZitadelConfig: ...


@dataclass(frozen=True)
class Wiring:
    """Where every part is and the credentials that connect them; `env(part)` is that part's environment."""

    token: str = field(repr=False)  # the operator's: provisioning's caller (demo, CLI, tests)
    addresses: Mapping[str, str] = field(default_factory=dict)
    database_url: str = field(default="", repr=False)
    task_queue: str | None = None  # None: the parts' default queue
    profile: Profile = TESTS
    zone: str = ZONE  # the sandbox zone the DNS service manages
    # The sandbox's credentials; `real_*`: that upstream is the real one, its settings the caller's.
    cloudflare_token: str = field(default=DEFAULT_TOKEN, repr=False)
    zitadel: ZitadelConfig = field(default_factory=ZitadelConfig)
    real_cloudflare: bool = False
    real_zitadel: bool = False
    # The worker's, for dns and identity; None: one derived from `token` (distinct, stable per token).
    service_token: str | None = field(default=None, repr=False)
    sandbox_state_dir: Path | None = None
    # Every service and the worker append their spans here (A4C_TRACES=file); None: each part's own
    # A4C_TRACES (off unless the caller's environment says otlp, with OTEL_EXPORTER_OTLP_ENDPOINT).
    traces_file: Path | None = None
    # The task queues each worker replica serves (A4C_WORKER_QUEUES), by replica; empty: every queue.
    worker_queues: tuple[str, ...] = ()
    # The console's OIDC client settings (A4C_CONSOLE_OIDC_*, A4C_CONSOLE_ROLE_*), known once its
    # application is seeded at the identity platform (a4c.devstack.console_login).
    console_oidc: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def for_emulators(
        cls,
        token: str,
        *,
        cloudflare: CloudflareEmulator | None = None,
        zitadel: ZitadelEmulator | None = None,
        **fields: Any,
    ) -> Wiring:
        """Wired to in-process emulators; each gRPC part on a free loopback port unless `addresses` say."""
        addresses = {name: f"{HOST}:0" for name in ("dns", "identity", "provisioning", "worker-health")}
        credentials: dict[str, Any] = {}
        if cloudflare is not None:
            addresses |= {"sandbox-cloudflare": cloudflare.api_address, "sandbox-dns": cloudflare.nameserver}
            credentials["cloudflare_token"] = cloudflare.token
        if zitadel is not None:
            addresses["sandbox-zitadel"] = zitadel.address
            credentials["zitadel"] = zitadel.config
        addresses |= fields.pop("addresses", {})
        return cls(token, addresses, **credentials, **fields)

    @classmethod
    def for_sandbox_process(
        cls, token: str, ready: Mapping[str, str], sandbox_env: Mapping[str, str], **fields: Any
    ) -> Wiring:
        """Wired to `python -m a4c.sandbox` from its ready line and the SANDBOX_* settings it ran with."""
        addresses = {
            "sandbox-cloudflare": urlsplit(ready["cloudflare_api"]).netloc,
            "sandbox-zitadel": urlsplit(ready["zitadel_api"]).netloc,
            "sandbox-dns": ready["dns"],
            **fields.pop("addresses", {}),
        }
        return cls(token, addresses, **sandbox_credentials(sandbox_env), **fields)

    @property
    def worker_token(self) -> str:
        """The token the worker presents to dns and identity (never accepted by provisioning)."""
        if self.service_token:
            return self.service_token
        return hashlib.sha256(f"a4c-local-worker:{self.token}".encode()).hexdigest()

    @property
    def console_token(self) -> str:
        """The console's token at provisioning (its own principal, distinct from the operator's)."""
        return hashlib.sha256(f"a4c-local-console:{self.token}".encode()).hexdigest()

    def address(self, part: str) -> str:
        return self.addresses[part]

    def replicas(self, part: str) -> list[str]:
        """The address of each replica of `part` (one unless the wiring lists several)."""
        return self.addresses[part].split(",")

    def client_target(self, part: str) -> str:
        """What a caller dials to reach every replica of `part`: host:port, or an ipv4: list for gRPC's
        round robin (a4c.common.client balances over it)."""
        replicas = self.replicas(part)
        return replicas[0] if len(replicas) == 1 else "ipv4:" + ",".join(replicas)

    def at(self, **addresses: str) -> Wiring:
        """The same wiring with parts found elsewhere, e.g. `at(dns=...)` once a port-0 server bound."""
        moved = {name.replace("_", "-"): address for name, address in addresses.items()}
        return replace(self, addresses={**self.addresses, **moved})

    def env(
        self, part: str, inherited: Mapping[str, str] | None = None, *, replica: int | None = None
    ) -> dict[str, str]:
        """`part`'s environment: defaults, the profile, then `inherited` (the caller's), then the wiring;
        `replica`: the i-th of a part wired as several (its own address)."""
        wiring = self if replica is None else self._replica(part, replica)
        wired = _TABLE[part](wiring)
        kept = {k: v for k, v in (inherited or {}).items() if not k.startswith(self._foreign(part))}
        return {**_DEFAULTS.get(part, {}), **self.profile.env(part), **kept, **wired}

    def _replica(self, part: str, index: int) -> Wiring:
        """This wiring as the `index`-th replica of `part` sees itself: its own address to bind."""
        own = "worker-health" if part == "worker" else part
        moved = {own: self.replicas(own)[index]}
        if f"{part}-metrics" in self.addresses:
            moved[f"{part}-metrics"] = self.replicas(f"{part}-metrics")[index]
        queues = self.worker_queues[index : index + 1] if part == "worker" else ()
        return replace(self, addresses={**self.addresses, **moved}, worker_queues=queues)

    def _foreign(self, part: str) -> tuple[str, ...]:
        """A real upstream's settings the caller may hold, dropped where the sandbox stands in."""
        if part == "dns" and not self.real_cloudflare:
            return ("CLOUDFLARE_",)  # e.g. a stray CLOUDFLARE_ZONE_ID of a real zone
        if part == "identity" and not self.real_zitadel:
            return ("ZITADEL_",)  # e.g. ZITADEL_KEY_FILE next to the sandbox's PAT
        return ()

    def bootstrap_input(self, slug: str, *, name: str | None = None) -> BootstrapInput:
        """The workflow input the provisioning service would start for `slug` under this wiring."""
        org = str(uuid.uuid4())
        verification = self.profile.verification or VerificationPolicy()
        timeouts = self.profile.timeouts or StepTimeouts()
        return BootstrapInput(
            organization_id=org,
            name=name or f"{slug.title()} Health",
            slug=slug,
            admin_email=f"admin@{slug}.example",
            admin_given_name="Ada",
            admin_family_name="Admin",
            subdomain=SubdomainInput(
                organization_id=org,
                zone=self.zone,
                fqdn=f"{slug}.{self.zone}",
                target=f"app.{self.zone}",
                proxied=True,
                verification=verification,
                timeouts=timeouts,
            ),
            timeouts=timeouts,
        )


def sandbox_credentials(sandbox_env: Mapping[str, str]) -> dict[str, Any]:
    """The credentials a sandbox started with these SANDBOX_* settings accepts (its own readers)."""
    return {
        "cloudflare_token": sandbox_env.get("SANDBOX_CLOUDFLARE_TOKEN") or DEFAULT_TOKEN,
        "zitadel": ZitadelConfig.from_env(sandbox_env),
    }


def verification_env(policy: VerificationPolicy) -> dict[str, str]:
    """The A4C_VERIFY_* settings of the provisioning service and the worker that give `policy`."""
    return {
        "A4C_VERIFY_FIRST_CHECK_SECONDS": _number(policy.first_check_seconds),
        "A4C_VERIFY_INITIAL_INTERVAL_SECONDS": _number(policy.initial_interval_seconds),
        "A4C_VERIFY_BACKOFF": _number(policy.backoff),
        "A4C_VERIFY_MAX_INTERVAL_SECONDS": _number(policy.max_interval_seconds),
        "A4C_VERIFY_DEADLINE_SECONDS": _number(policy.deadline_seconds),
    }


def _number(value: float) -> str:
    return f"{value:g}"


def _port(address: str) -> str:
    return address.rpartition(":")[2]


def _host(address: str) -> str:
    return address.rpartition(":")[0]


# -- the table: one function per part ---------------------------------------------------------------

_DEFAULTS: dict[str, dict[str, str]] = {
    part: {"A4C_ENVIRONMENT": ENVIRONMENT}
    for part in ("migrate", "dns", "identity", "provisioning", "console")
}


def _sandbox(w: Wiring) -> dict[str, str]:
    env = {
        "SANDBOX_HOST": _host(w.address("sandbox-cloudflare")),
        "SANDBOX_CLOUDFLARE_PORT": _port(w.address("sandbox-cloudflare")),
        "SANDBOX_ZITADEL_PORT": _port(w.address("sandbox-zitadel")),
        "SANDBOX_DNS_PORT": _port(w.address("sandbox-dns")),
    }
    if w.sandbox_state_dir is not None:
        env["SANDBOX_STATE_DIR"] = str(w.sandbox_state_dir)
    return env


def _migrate(w: Wiring) -> dict[str, str]:
    # The URL goes in the environment: a password in it must not reach `ps` or a log's header.
    return {"DATABASE_URL": w.database_url}


# Who may call each service with which scopes (the README's trust model).
OPERATOR_SCOPES = "read+bootstrap+operate"
# The console acts for its operators (each one's role decides, in the console, what they may do).
CONSOLE_SCOPES = "read+bootstrap+operate"
WORKER_SCOPES = "read+write"


def principals(w: Wiring, part: str) -> str:
    """A4C_AUTH_PRINCIPALS of `part`: provisioning knows the operator, dns and identity the worker."""
    if part == "provisioning":
        return f"operator:{OPERATOR_SCOPES}:{w.token},console:{CONSOLE_SCOPES}:{w.console_token}"
    return f"worker:{WORKER_SCOPES}:{w.worker_token}"


def _traces(w: Wiring) -> dict[str, str]:
    if w.traces_file is None:
        return {}
    return {"A4C_TRACES": "file", "A4C_TRACES_FILE": str(w.traces_file)}


def _grpc(w: Wiring, part: str) -> dict[str, str]:
    address = w.address(part)
    env = {
        "A4C_GRPC_HOST": _host(address),
        "A4C_GRPC_PORT": _port(address),
        "A4C_AUTH_PRINCIPALS": principals(w, part),
    }
    return env | _metrics(w, part) | _traces(w)


def _metrics(w: Wiring, part: str) -> dict[str, str]:
    """A4C_METRICS_PORT when the wiring places the part's metrics (the stack does; tests may not)."""
    address = w.addresses.get(f"{part}-metrics")
    return {"A4C_METRICS_PORT": _port(address)} if address else {}


def _dns(w: Wiring) -> dict[str, str]:
    env = _grpc(w, "dns")
    if w.real_cloudflare:
        return env
    return {
        **env,
        "CLOUDFLARE_API_TOKEN": w.cloudflare_token,
        "CLOUDFLARE_BASE_URL": f"http://{w.address('sandbox-cloudflare')}{BASE_PATH}",
        "CLOUDFLARE_ZONE_NAME": w.zone,
        "A4C_DNS_NAMESERVERS": w.address("sandbox-dns"),
    }


def _identity(w: Wiring) -> dict[str, str]:
    env = _grpc(w, "identity")
    if w.real_zitadel:
        return env
    return {
        **env,
        "ZITADEL_URL": f"http://{w.address('sandbox-zitadel')}",
        "ZITADEL_PAT": w.zitadel.pat,
        "ZITADEL_PROJECT_ID": w.zitadel.project_id,
        # A role the sandbox's project defines: the identity service owns the role policy.
        **({"ZITADEL_ADMIN_ROLE_KEYS": w.zitadel.role_keys[0]} if w.zitadel.role_keys else {}),
    }


def _temporal_client(w: Wiring) -> dict[str, str]:
    env = {"DATABASE_URL": w.database_url, "TEMPORAL_ADDRESS": w.address("temporal")}
    return env | ({"TEMPORAL_TASK_QUEUE": w.task_queue} if w.task_queue else {})


def _provisioning(w: Wiring) -> dict[str, str]:
    env = {**_grpc(w, "provisioning"), **_temporal_client(w), "A4C_AUTH_DELEGATES": "console"}
    if not w.real_cloudflare:
        env["A4C_BASE_DOMAIN"] = w.zone  # the zone the DNS service is wired to
    return env


def _worker(w: Wiring) -> dict[str, str]:
    health = w.address("worker-health")
    return {
        **_temporal_client(w),
        "A4C_DNS_SERVICE_ADDRESS": w.client_target("dns"),
        "A4C_IDENTITY_SERVICE_ADDRESS": w.client_target("identity"),
        "A4C_SERVICE_TOKEN": w.worker_token,
        "A4C_HEALTH_HOST": _host(health),  # a developer's machine: loopback only
        "A4C_HEALTH_PORT": _port(health),
        **_metrics(w, "worker"),  # on A4C_HEALTH_HOST too
        # The zone the worker holds every workflow to: the one the DNS service is wired to.
        **({} if w.real_cloudflare else {"A4C_BASE_DOMAIN": w.zone}),
        **_traces(w),
        # Set when the wiring names this replica's queues (env(..., replica=i)); unset: all of them.
        **({"A4C_WORKER_QUEUES": w.worker_queues[0]} if len(w.worker_queues) == 1 else {}),
    }


def _console(w: Wiring) -> dict[str, str]:
    address = w.address("console")
    env = {
        "A4C_CONSOLE_HOST": _host(address),
        "A4C_CONSOLE_PORT": _port(address),
        "A4C_CONSOLE_PUBLIC_URL": f"http://{address}",
        "A4C_PROVISIONING_ADDRESS": w.address("provisioning"),
        "A4C_PROVISIONING_TOKEN": w.console_token,
        # Signs the session cookie; stable per operator token so a restarted console keeps its logins.
        "A4C_CONSOLE_SESSION_KEY": hashlib.sha256(f"a4c-local-session:{w.token}".encode()).hexdigest(),
        "A4C_CONSOLE_SECURE_COOKIES": "false",  # a local http:// console
        **w.console_oidc,
    }
    if "temporal-ui" in w.addresses:
        env["A4C_CONSOLE_TEMPORAL_UI_URL"] = f"http://{w.address('temporal-ui')}"
    return env


_TABLE: dict[str, Callable[[Wiring], dict[str, str]]] = {
    "sandbox": _sandbox,
    "migrate": _migrate,
    "temporal": lambda _: {},  # the dev server takes flags (a4c.devstack.temporal), not settings
    "dns": _dns,
    "identity": _identity,
    "provisioning": _provisioning,
    "worker": _worker,
    "console": _console,
}
