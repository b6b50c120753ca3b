"""Errors of the corral API, one class per gRPC status code.

The API server raises them and turns them into gRPC statuses; the client turns
statuses back into them. Messages say what failed, on which object, and why.
"""

from __future__ import annotations

import grpc


class ApiError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ApiError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ApiError):
    code = grpc.StatusCode.ALREADY_EXISTS


class Conflict(ApiError):
    """A stale resourceVersion: re-read and try again."""

    code = grpc.StatusCode.ABORTED


class Invalid(ApiError):
    """Bad input; the message starts with the field path."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class FailedPrecondition(ApiError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Expired(ApiError):
    """The resourceVersion asked for was compacted away: relist."""

    code = grpc.StatusCode.OUT_OF_RANGE


class Unavailable(ApiError):
    """The server or its storage cannot be reached now: retry later."""

    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(ApiError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class PermissionDenied(ApiError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(ApiError):
    code = grpc.StatusCode.UNAUTHENTICATED


class Internal(ApiError):
    code = grpc.StatusCode.INTERNAL


_BY_CODE: dict[grpc.StatusCode, type[ApiError]] = {
    cls.code: cls
    for cls in (
        NotFound,
        AlreadyExists,
        Conflict,
        Invalid,
        FailedPrecondition,
        Expired,
        Unavailable,
        DeadlineExceeded,
        PermissionDenied,
        Unauthenticated,
        Internal,
    )
}


def from_status(code: grpc.StatusCode, message: str) -> ApiError:
    """The exception for a gRPC status a call ended with."""
    cls = _BY_CODE.get(code, ApiError)
    error = cls.__new__(cls)
    ApiError.__init__(error, message)
    if isinstance(error, Invalid):
        error.field = message.partition(": ")[0]
    if cls is ApiError:
        error.code = code
    return error


def from_rpc_error(error: grpc.RpcError) -> ApiError:
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    return from_status(code, details or code.name)
