"""Typed service errors and their ARM error bodies (asr-api.md §11).

Handlers raise these; the HTTP layer turns them into ``{"error": {...}}`` responses with the right status.
"""

from __future__ import annotations

import uuid
from typing import Any


class TopologyError(ValueError):
    """The topology file is invalid; the message names the field."""


class ServiceError(Exception):
    status = 500
    code = "InternalServerError"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def asr_detail(code: str, message: str, *, causes: str = "", action: str = "") -> dict[str, Any]:
    """One entry of ``error.details`` the way ASR fills it."""
    return {
        "code": code,
        "message": message,
        "possibleCauses": causes,
        "recommendedAction": action,
        "clientRequestId": str(uuid.uuid4()),
        "activityId": str(uuid.uuid4()),
    }


class BadRequest(ServiceError):
    status = 400
    code = "BadRequest"

    def __init__(self, message: str, *, inner_code: str = "InvalidParameter", action: str = "") -> None:
        super().__init__(message, details=[asr_detail(inner_code, message, action=action)])


class OperationNotAllowed(ServiceError):
    """The action is not in the resource's ``allowedOperations`` (or the direction is wrong)."""

    status = 400
    code = "BadRequest"

    def __init__(self, operation: str, resource: str, allowed: list[str], *, reason: str = "") -> None:
        message = (
            f"The operation '{operation}' is not allowed on '{resource}' in its current state. "
            f"Allowed operations: {allowed}." + (f" {reason}" if reason else "")
        )
        super().__init__(
            message,
            details=[
                asr_detail(
                    "OperationNotAllowed",
                    message,
                    causes="The protected item or recovery plan is not in a state that allows this operation.",
                    action="Wait for running jobs to finish and retry with an operation listed in allowedOperations.",
                )
            ],
        )
        self.operation = operation
        self.allowed = allowed


class NotFound(ServiceError):
    status = 404
    code = "ResourceNotFound"


class MissingApiVersion(ServiceError):
    status = 400
    code = "MissingApiVersionParameter"

    def __init__(self) -> None:
        super().__init__("The api-version query parameter (?api-version=) is required for all requests.")


class InvalidApiVersion(ServiceError):
    status = 400
    code = "InvalidApiVersionParameter"


class Unauthorized(ServiceError):
    status = 401
    code = "AuthenticationFailed"


class MethodNotAllowed(ServiceError):
    status = 405
    code = "MethodNotAllowed"


class Throttled(ServiceError):
    status = 429
    code = "SubscriptionRequestsThrottled"

    def __init__(self, kind: str, subscription: str, retry_after: int) -> None:
        super().__init__(
            f"Number of '{kind}' requests for subscription '{subscription}' actor "
            f"'00000000-0000-0000-0000-000000000000' exceeded. Please try again after '{retry_after}' seconds "
            "after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional "
            "information.",
            headers={"Retry-After": str(retry_after)},
        )


class InjectedFault(ServiceError):
    """An HTTP error produced by a fault rule (500/503/429/...)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, code=code, headers=headers)
        self.status = status
