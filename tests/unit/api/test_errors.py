"""Every error the application raises on purpose becomes an answer with the right status; a bug does not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lib.api.errors import ApiError, error_response, to_api_error
from lib.domain.errors import (
    OperationNotAllowed,
    ResourceNotFound,
    Throttled,
    TransientSiteRecoveryError,
    ValidationError,
)
from lib.domain.runs import IllegalTransition, RunEvent, RunStatus
from lib.engine.errors import ContentionExceeded, IdempotencyConflict, LeaseHeld, OperationRefused, RunNotFound

T = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("error", "status", "code", "field"),
    [
        (ValidationError("parallelism", "too big"), 400, "BadRequest", "parallelism"),
        (RunNotFound("r1"), 404, "RunNotFound", "id"),
        (IllegalTransition(RunStatus.SUCCEEDED, RunEvent.CANCEL, "r1"), 409, "StateConflict", None),
        (IdempotencyConflict("k", "r1", "failover", "drill"), 409, "IdempotencyKeyReused", "Idempotency-Key"),
        (ContentionExceeded("r1", "approve", 8), 409, "Busy", None),
        (
            LeaseHeld("r1", "continue", "w1", datetime(2026, 1, 1, tzinfo=UTC), RunStatus.RUNNING),
            409,
            "LeaseHeld",
            None,
        ),
        (ResourceNotFound("NotFound", "no plan"), 404, "NotFound", None),
        (Throttled("TooManyRequests", "slow down", retry_after=3), 503, "SiteRecoveryUnavailable", None),
        (TransientSiteRecoveryError("InternalError", "try later"), 503, "SiteRecoveryUnavailable", None),
        (OperationNotAllowed("OperationNotAllowed", "no"), 502, "SiteRecoveryError", None),
    ],
)
def test_errors_map_to_answers(error: Exception, status: int, code: str, field: str | None) -> None:
    err = to_api_error(error)
    assert err is not None and (err.status, err.code, err.field) == (status, code, field)
    answer = error_response(err)
    assert answer.status == status and answer.body["error"]["message"]
    assert ("Retry-After" in answer.headers) == (status == 503 or code in ("Busy", "LeaseHeld"))


def test_a_bug_is_not_mapped_and_401_asks_for_a_bearer_token() -> None:
    assert to_api_error(KeyError("x")) is None
    assert "WWW-Authenticate" in error_response(ApiError(401, "Unauthenticated", "who are you")).headers


def test_a_refusal_names_its_reason_and_choices_and_a_held_lease_its_holder() -> None:
    refused = OperationRefused(
        "r1", "cancel", RunStatus.WAITING, ("commit", "rollback"), RunEvent.CANCEL, reason="web-1 failed over"
    )
    err = to_api_error(refused)
    assert err is not None
    body = error_response(err).body["error"]
    assert (body["status"], body["reason"], body["choices"]) == ("waiting", "web-1 failed over", ["commit", "rollback"])
    held = to_api_error(LeaseHeld("r1", "continue", "w1", datetime(2026, 1, 1, tzinfo=UTC), RunStatus.RUNNING))
    assert held is not None
    lease = error_response(held).body["error"]
    assert (lease["holder"], lease["expiresAt"]) == ("w1", "2026-01-01T00:00:00+00:00")


def test_storage_that_does_not_answer_is_a_503_to_retry_and_a_bug_stays_a_bug() -> None:
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    for exc in (ServiceRequestError("connection refused"), ServiceResponseError("read timed out")):
        err = to_api_error(exc)
        assert err is not None and (err.status, err.code, err.retry_after) == (503, "StorageUnavailable", 5)
    assert to_api_error(KeyError("a bug")) is None  # the host answers 500 and logs it
