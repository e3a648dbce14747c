"""EC2 errors: the one place where failures become EC2 error responses.

Actions and middleware raise ``EC2APIError`` for mistakes only the API layer
can name (a malformed parameter, an unknown action) and ``nova.exception``
types for everything else; ``error_for`` turns either, or anything else,
into (HTTP status, EC2 code, message).  A client's mistake is a 4xx with its
EC2 code; an unexpected failure is a 500 ``InternalError`` naming the
request id, with the traceback in the log only.
"""

from __future__ import annotations

import logging
import re
from xml.sax.saxutils import escape

import webob

from nova import exception, rpc
from nova.api.ec2 import ec2utils

LOG = logging.getLogger(__name__)


class EC2APIError(Exception):
    """An error the EC2 API reports with ``code`` and HTTP ``status``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def invalid(message: str) -> EC2APIError:
    return EC2APIError("InvalidParameterValue", message)


def _ec2_message(exc: exception.NovaException) -> str:
    """The exception's message with database ids shown as EC2 ids."""
    kwargs = dict(getattr(exc, "kwargs", {}) or {})
    changed = False
    for key, value in kwargs.items():
        shown = ec2utils.ec2_id_for_key(key, value)
        if shown is not None:
            kwargs[key] = shown
            changed = True
    if changed:
        try:
            return type(exc).message % kwargs
        except (KeyError, TypeError, ValueError):
            pass
    return str(exc)


# The EC2 code of each nova exception; a class without an entry takes its nearest base's.
EC2_CODES: dict[type[exception.NovaException], str] = {
    exception.NovaException: "UnknownError",
    exception.Invalid: "InvalidParameterValue",
    exception.MissingParameter: "MissingParameter",
    exception.NotAuthorized: "UnauthorizedOperation",
    exception.NotFound: "NotFound",
    exception.AccessKeyNotFound: "AuthFailure",
    exception.InstanceNotFound: "InvalidInstanceID.NotFound",
    exception.KeypairNotFound: "InvalidKeyPair.NotFound",
    exception.SecurityGroupNotFound: "InvalidGroup.NotFound",
    exception.FloatingIpNotFound: "InvalidAddress.NotFound",
    exception.VolumeNotFound: "InvalidVolume.NotFound",
    exception.SnapshotNotFound: "InvalidSnapshot.NotFound",
    exception.ImageNotFound: "InvalidAMIID.NotFound",
    exception.Duplicate: "Duplicate",
    exception.KeyPairExists: "InvalidKeyPair.Duplicate",
    exception.SecurityGroupExists: "InvalidGroup.Duplicate",
    exception.QuotaError: "ResourceLimitExceeded",
    exception.NoValidHost: "InsufficientInstanceCapacity",
    exception.ServiceUnavailable: "Unavailable",
    exception.DBConnectionError: "Unavailable",
    exception.UnsupportedOperation: "UnsupportedOperation",
    exception.SecurityGroupRuleNotFound: "InvalidPermission.NotFound",
    exception.InstanceInvalidState: "IncorrectInstanceState",
    exception.ImageNotActive: "InvalidAMIID.Unavailable",
    exception.InvalidImage: "InvalidAMIID.Malformed",
    exception.NoMoreNetworks: "InsufficientAddressCapacity",
    exception.NoMoreFixedIps: "InsufficientAddressCapacity",
    exception.NoMoreFloatingIps: "InsufficientAddressCapacity",
    exception.FloatingIpAssociated: "InvalidIPAddress.InUse",
    exception.FloatingIpInUse: "InvalidIPAddress.InUse",
    exception.FloatingIpNotAssociated: "InvalidAssociationID.NotFound",
    exception.AddressLimitExceeded: "AddressLimitExceeded",
    exception.FixedIpNotFoundForInstance: "InvalidInstanceID",
    exception.InvalidImageLocation: "InvalidManifest",
    exception.ImageLocationForbidden: "AuthFailure",
    exception.TagLimitExceeded: "TagLimitExceeded",
    exception.NotTaggable: "InvalidID",
    exception.UserHasNoProject: "AuthFailure",
    exception.RequestTimeSkewed: "AuthFailure",
    exception.TokenNotFound: "AuthFailure",
    exception.InvalidKeyFormat: "InvalidKey.Format",
    exception.SecurityGroupLimitExceeded: "SecurityGroupLimitExceeded",
    exception.SecurityGroupRuleLimitExceeded: "RulesPerSecurityGroupLimitExceeded",
    exception.SecurityGroupCannotDelete: "CannotDelete",
    exception.SecurityGroupInUse: "InvalidGroup.InUse",
    exception.SecurityGroupRuleExists: "InvalidPermission.Duplicate",
    exception.ImageNotOwned: "AuthFailure",
    exception.VolumeInvalidState: "IncorrectState",
    exception.VolumeInUse: "VolumeInUse",
    exception.SnapshotInvalidState: "IncorrectState",
    exception.VolumeLimitExceeded: "VolumeLimitExceeded",
    exception.VolumeNotAttached: "IncorrectState",
    exception.InstanceTerminationDisabled: "OperationNotPermitted",
    exception.IdempotentParameterMismatch: "IdempotentParameterMismatch",
    exception.DeviceNotMapped: "InvalidInstanceAttributeValue",
    exception.FloatingIpIdNotFound: "InvalidAllocationID.NotFound",
    exception.ImageNameInUse: "InvalidAMIName.Duplicate",
    rpc.Timeout: "Unavailable",
    rpc.BrokerUnavailable: "Unavailable",
}


# Seconds a client should wait before retrying a 503 (an outage of the database, broker or a daemon).
RETRY_AFTER = "1"


def ec2_code_of(cls: type[exception.NovaException]) -> str:
    for klass in cls.__mro__:
        code = EC2_CODES.get(klass)
        if code is not None:
            return code
    return "UnknownError"


def _status_of(code: int, ec2_code: str) -> int:
    if ec2_code == "AuthFailure":
        return 401
    if code in (401, 403):
        return 403
    if code in (503, 504):
        return 503
    if 400 <= code < 500:
        return 400
    return 500


def error_for(exc: BaseException, request_id: str) -> tuple[int, str, str]:
    """(status, code, message) for any exception raised while serving a request."""
    if isinstance(exc, EC2APIError):
        return exc.status, exc.code, exc.message
    if isinstance(exc, rpc.Timeout):
        LOG.warning("RPC timed out: %s", exc)
        return 503, "Unavailable", "The service is unavailable; try again later."
    if isinstance(exc, (rpc.RemoteError, rpc.UnknownMethod, rpc.InvalidArguments)):
        # Not the client's mistake: a foreign exception in another daemon, or a message nova built wrong.
        if exc.code == 503:
            return 503, "Unavailable", "The service is unavailable; try again later."
    elif isinstance(exc, exception.NovaException) and (exc.code < 500 or exc.code == 503):
        ec2_code = ec2_code_of(type(exc))
        return _status_of(exc.code, ec2_code), ec2_code, _ec2_message(exc)
    LOG.error("Unexpected error serving the request", exc_info=(type(exc), exc, exc.__traceback__))
    return 500, "InternalError", f"An internal error has occurred (request {request_id})."


# Characters XML 1.0 cannot carry at all, even escaped (control characters, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(value: str) -> str:
    """``value`` with what XML cannot hold shown as ``\\xNN`` or ``\\uNNNN``, so any client can parse it."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", value)


def xml_text(value: str) -> str:
    """``value`` as XML character data."""
    return escape(xml_safe(value))


def error_response(request_id: str, status: int, code: str, message: str) -> webob.Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{xml_text(code)}</Code><Message>{xml_text(message)}</Message>"
        f"</Error></Errors><RequestID>{xml_text(request_id)}</RequestID></Response>"
    )
    response = webob.Response(status=status, content_type="text/xml", charset="UTF-8")
    response.text = body
    if status == 503:
        response.headers["Retry-After"] = RETRY_AFTER
    return response


def response_for(exc: BaseException, request_id: str) -> webob.Response:
    status, code, message = error_for(exc, request_id)
    # One line for what the client or a known limit caused; error_for logged the traceback of the rest.
    if status < 500:
        LOG.info("EC2 error %s %s: %s", status, code, message)
    elif status == 503:
        LOG.warning("EC2 error %s %s: %s", status, code, message)
    return error_response(request_id, status, code, message)
