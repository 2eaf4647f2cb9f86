"""The workflows' pacing settings, declared once for the two parts that read them.

The worker enforces them (a4c.worker.policy replaces whatever a workflow input says); provisioning still
fills them into the workflow input for workers of the previous release. Both read the same variables
(the k8s `a4c-tenant-policy` ConfigMap), so the declarations and their cross-field rules live here.
"""

from __future__ import annotations

from a4c.common.env import EnvReader, SettingsError
from a4c.common.settings import Float
from a4c.workflows.models import StepTimeouts, VerificationPolicy

VERIFY_FIRST_CHECK = Float(
    "A4C_VERIFY_FIRST_CHECK_SECONDS", "wait before the first DNS check", 10.0, min=0, max=3600
)
VERIFY_INITIAL_INTERVAL = Float(
    "A4C_VERIFY_INITIAL_INTERVAL_SECONDS", "first interval between DNS checks", 10.0, min=0.01, max=3600
)
VERIFY_BACKOFF = Float("A4C_VERIFY_BACKOFF", "growth factor of that interval", 1.5, min=1.0, max=10.0)
VERIFY_MAX_INTERVAL = Float(
    "A4C_VERIFY_MAX_INTERVAL_SECONDS", "longest interval between DNS checks", 60.0, min=0.01, max=3600
)
VERIFY_DEADLINE = Float(
    "A4C_VERIFY_DEADLINE_SECONDS", "give up verifying after this long", 600.0, min=1, max=7 * 86400
)
STEP_ATTEMPT = Float("A4C_STEP_ATTEMPT_SECONDS", "timeout of one attempt of a step", 30.0, min=0.1, max=3600)
STEP_TOTAL = Float(
    "A4C_STEP_TOTAL_SECONDS", "all attempts of a step, then compensate", 300.0, min=0.1, max=86400
)
STEP_HEARTBEAT = Float(
    "A4C_STEP_HEARTBEAT_SECONDS",
    "heartbeat timeout of a running step: a dead worker's step is retried after this long",
    5.0,
    min=0.5,
    max=600,
)
PACING_SETTINGS = (
    VERIFY_FIRST_CHECK,
    VERIFY_INITIAL_INTERVAL,
    VERIFY_BACKOFF,
    VERIFY_MAX_INTERVAL,
    VERIFY_DEADLINE,
    STEP_ATTEMPT,
    STEP_TOTAL,
    STEP_HEARTBEAT,
)


def read_verification(reader: EnvReader) -> VerificationPolicy:
    policy = VerificationPolicy(
        first_check_seconds=VERIFY_FIRST_CHECK.read(reader),
        initial_interval_seconds=VERIFY_INITIAL_INTERVAL.read(reader),
        backoff=VERIFY_BACKOFF.read(reader),
        max_interval_seconds=VERIFY_MAX_INTERVAL.read(reader),
        deadline_seconds=VERIFY_DEADLINE.read(reader),
    )
    if policy.max_interval_seconds < policy.initial_interval_seconds:
        raise SettingsError(VERIFY_MAX_INTERVAL.name, "must not be below A4C_VERIFY_INITIAL_INTERVAL_SECONDS")
    return policy


def read_step_timeouts(reader: EnvReader) -> StepTimeouts:
    timeouts = StepTimeouts(
        attempt_seconds=STEP_ATTEMPT.read(reader),
        total_seconds=STEP_TOTAL.read(reader),
        heartbeat_seconds=STEP_HEARTBEAT.read(reader),
    )
    if timeouts.total_seconds < timeouts.attempt_seconds:
        raise SettingsError(STEP_TOTAL.name, "must not be below A4C_STEP_ATTEMPT_SECONDS")
    return timeouts
