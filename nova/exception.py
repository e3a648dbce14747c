"""The one exception hierarchy of nova.

Every error carries a message template and an HTTP-ish ``code``; each front
end maps these to its own format once, in its error middleware (the EC2
codes live in ``nova.api.ec2.faults``).  Nothing here knows any API's error
names.
"""

from __future__ import annotations

from typing import Any


class NovaException(Exception):
    message = "An unknown exception occurred."
    code = 500
    remote = False  # True when raised again on the caller's side of an RPC call (nova.rpc)

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.message % kwargs
            except (KeyError, TypeError, ValueError):
                message = self.message
        self.msg = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.msg


class ProcessExecutionError(NovaException):
    message = "Command %(cmd)s exited with %(exit_code)s: %(stderr)s"

    def __init__(self, cmd: str = "", exit_code: int | None = None, stdout: str = "", stderr: str = "") -> None:
        self.cmd, self.exit_code, self.stdout, self.stderr = cmd, exit_code, stdout, stderr
        super().__init__(cmd=cmd, exit_code=exit_code, stderr=stderr.strip())


class Invalid(NovaException):
    message = "Unacceptable parameters."
    code = 400


class InvalidInput(Invalid):
    message = "Invalid input received: %(reason)s"


class MarkerNotFound(Invalid):
    message = "marker [%(marker)s] not found"


class MissingParameter(Invalid):
    message = "Missing parameter: %(param)s"


class InvalidFlavor(Invalid):
    message = "Invalid instance type: %(reason)s"


class NotAuthorized(NovaException):
    message = "Not authorized."
    code = 403


class AdminRequired(NotAuthorized):
    message = "User does not have admin privileges"


class NotFound(NovaException):
    message = "Resource could not be found."
    code = 404


class ServiceNotFound(NotFound):
    message = "Service %(service)s could not be found."


class HostNotFound(NotFound):
    message = "Host %(host)s could not be found."


class UserNotFound(NotFound):
    message = "User %(user_id)s could not be found."


class ProjectNotFound(NotFound):
    message = "Project %(project_id)s could not be found."


class AccessKeyNotFound(NotFound):
    message = "Access key %(access_key)s could not be found."


class ProjectMembershipNotFound(NotFound):
    message = "User %(user_id)s is not a member of project %(project_id)s."


class RoleNotFound(NotFound):
    message = "Role %(role)s does not exist."


class InstanceNotFound(NotFound):
    message = "Instance %(instance_id)s could not be found."


class InstanceTypeNotFound(NotFound):
    message = "Instance type %(instance_type)s could not be found."


class KeypairNotFound(NotFound):
    message = "Keypair %(name)s not found for user %(user_id)s"


class SecurityGroupNotFound(NotFound):
    message = "Security group %(security_group_id)s not found."


class NetworkNotFound(NotFound):
    message = "Network %(network_id)s could not be found."


class FixedIpNotFound(NotFound):
    message = "No fixed IP %(address)s found."


class FloatingIpNotFound(NotFound):
    message = "Floating IP %(address)s not found."


class VolumeNotFound(NotFound):
    message = "Volume %(volume_id)s could not be found."


class SnapshotNotFound(NotFound):
    message = "Snapshot %(snapshot_id)s could not be found."


class ImageNotFound(NotFound):
    message = "Image %(image_id)s could not be found."


class QuotaNotFound(NotFound):
    message = "Quota for project %(project_id)s could not be found."


class Duplicate(NovaException):
    message = "Resource already exists."
    code = 409


class UserExists(Duplicate):
    message = "User %(user)s already exists."


class ProjectExists(Duplicate):
    message = "Project %(project)s already exists."


class AccessKeyExists(Duplicate):
    message = "Access key %(access_key)s is already in use."


class InstanceTypeExists(Duplicate):
    message = "Instance type %(name)s already exists."


class KeyPairExists(Duplicate):
    message = "Key pair %(key_name)s already exists."


class SecurityGroupExists(Duplicate):
    message = "Security group %(name)s already exists in project %(project_id)s."


class QuotaError(NovaException):
    message = "Quota exceeded: %(reason)s"
    code = 413


class NoValidHost(NovaException):
    message = "No valid host was found. %(reason)s"
    code = 503


class ServiceUnavailable(NovaException):
    message = "Service unavailable: %(reason)s"
    code = 503


class DatabaseError(NovaException):
    message = "Database error: %(reason)s"


class DBDeadlock(DatabaseError):
    """The server chose this transaction as a deadlock victim; retrying is safe."""

    message = "Database deadlock: %(reason)s"


class DatabaseNotReady(DatabaseError):
    message = "Database %(url)s is not ready: %(reason)s"


class UnsupportedOperation(NovaException):
    message = "Operation not supported: %(reason)s"
    code = 400


# -- compute, scheduler, images, security groups (issue 3) --------------------


class SecurityGroupRuleNotFound(NotFound):
    message = "Security group rule %(rule_id)s not found."


class SecurityGroupNotFoundForProject(SecurityGroupNotFound):
    message = "Security group %(security_group_id)s not found for project %(project_id)s."


class InstanceInvalidState(Invalid):
    message = "Instance %(instance_id)s is %(state)s; cannot %(action)s it."
    code = 409


class ImageNotActive(Invalid):
    message = "Image %(image_id)s is not available (state %(state)s)."


class InvalidImage(Invalid):
    message = "Image %(image_id)s cannot be used: %(reason)s"


class ImageChecksumMismatch(NovaException):
    message = "Image %(image_id)s: checksum %(actual)s does not match the recorded %(expected)s."


class InstanceTypeDiskTooSmall(Invalid):
    message = "Instance type's disk is too small for image %(image_id)s."


class VirtDriverError(NovaException):
    message = "Hypervisor error: %(reason)s"


# -- networks, fixed and floating IPs (nova-network) ------------------------


class NetworkExists(Duplicate):
    message = "A network with cidr %(cidr)s exists."


class NetworkNotFoundForBridge(NetworkNotFound):
    message = "No network uses bridge %(bridge)s."


class ProjectNetworkNotFound(NetworkNotFound):
    message = "Project %(project_id)s has no network."


class NoMoreNetworks(NovaException):
    message = "No free network is left to bind to a project; ask an operator to create more."
    code = 503


class NoNetworksFound(NotFound):
    message = "No network is configured; create one with nova-manage network create."


class NetworkInUse(Invalid):
    message = "Network %(network_id)s still has %(count)s addresses in use."


class NoMoreFixedIps(NovaException):
    message = "Network %(network_id)s has no free fixed IP left."
    code = 503


class MacAddressInUse(Duplicate):
    message = "MAC address %(mac_address)s is in use."


class FloatingIpExists(Duplicate):
    message = "Floating IP %(address)s exists."


class NoMoreFloatingIps(NovaException):
    message = "No floating IP is left in the pool."
    code = 503


class FloatingIpAssociated(Invalid):
    message = "Floating IP %(address)s is associated; disassociate it first."


class FloatingIpInUse(Invalid):
    message = "Floating IP %(address)s is allocated to project %(project_id)s."


class FloatingIpNotAssociated(Invalid):
    message = "Floating IP %(address)s is not associated."


class AddressLimitExceeded(QuotaError):
    message = "Address quota exceeded: the project may hold %(limit)s floating IPs."


class FixedIpNotFoundForInstance(NotFound):
    message = "Instance %(instance_id)s has no fixed IP."


# -- images from the objectstore ---------------------------------------------------
class InvalidImageLocation(Invalid):
    message = "Cannot register %(location)s: %(reason)s"


class ImageLocationForbidden(NotAuthorized):
    message = "Cannot register %(location)s: %(reason)s"


# -- tags --------------------------------------------------------------------
class TagLimitExceeded(QuotaError):
    message = "A resource may have at most %(limit)s tags."


class ReservedTagKey(Invalid):
    message = "Tag key %(key)s is reserved: keys starting with 'aws:' are for internal use."


class NotTaggable(Invalid):
    message = "Resources of type %(resource_type)s cannot be tagged."


# -- EC2 ids -------------------------------------------------------------------
class InvalidEc2Id(Invalid):
    message = 'Invalid id: "%(ec2_id)s" (expecting "%(expected)s")'


# -- credentials and tokens ------------------------------------------------------
class UserHasNoProject(NotFound):
    message = "User %(user_id)s is not a member of any project."


class RequestTimeSkewed(NotAuthorized):
    message = "The request time %(request_time)s is more than %(max_skew)s seconds in the %(direction)s."


class TokenNotFound(NotFound):
    message = "The token is unknown or has expired."


# -- key pairs, security groups, images -----------------------------------------
class InvalidKeyFormat(Invalid):
    message = "%(reason)s"


class KeypairIdNotFound(KeypairNotFound):
    message = "The key pair '%(key_pair_id)s' does not exist"


class SecurityGroupNameNotFound(SecurityGroupNotFoundForProject):
    message = "The security group '%(name)s' does not exist"


class SecurityGroupLimitExceeded(QuotaError):
    message = "You have reached the limit of security groups"


class SecurityGroupRuleLimitExceeded(QuotaError):
    message = "The maximum number of rules per security group has been reached"


class SecurityGroupCannotDelete(Invalid):
    message = "the default security group cannot be deleted"


class SecurityGroupInUse(Invalid):
    message = "Group %(security_group_id)s is used by instances"


class SecurityGroupRuleExists(Duplicate):
    message = "The specified rule already exists in security group %(security_group_id)s"


class SecurityGroupRuleNotInGroup(SecurityGroupRuleNotFound):
    message = "The specified rule does not exist in this security group."


class InvalidSecurityGroupRule(Invalid):
    message = "%(reason)s"


class ImageNotOwned(NotAuthorized):
    message = "Not authorized for image: %(image_id)s"


# -- identity v3 and image v2 endpoints --------------------------------------------------------------


class AuthenticationFailed(NovaException):
    message = "The request you have made requires authentication."
    code = 401


class ImageProtected(NotAuthorized):
    message = "Image %(image_id)s is protected and cannot be deleted."


class ImageDataExists(Invalid):
    message = "Image %(image_id)s already has data (state %(state)s); upload to a new image."
    code = 409


# -- OpenStack API v1.0/v1.1 -----------------------------------------------------------------------


class InstanceMetadataNotFound(NotFound):
    message = "Instance %(instance_id)s has no metadata with key %(key)s."


# -- volumes and snapshots -------------------------------------------------------


class VolumeInvalidState(Invalid):
    message = "Volume %(volume_id)s is %(status)s; cannot %(action)s it now."
    code = 409


class VolumeInUse(VolumeInvalidState):
    message = "Volume %(volume_id)s is attached to instance %(instance_id)s; cannot %(action)s it."


class SnapshotInvalidState(Invalid):
    message = "Snapshot %(snapshot_id)s is %(status)s; cannot %(action)s it now."
    code = 409


class InvalidVolumeSize(Invalid):
    message = "Invalid volume size: %(reason)s"


class InvalidDevicePath(Invalid):
    message = "Invalid device %(path)s: use /dev/vdb to /dev/vdz (or /dev/sdb.. /dev/xvdb.., shown as given)."


class VolumeLimitExceeded(QuotaError):
    message = "Volume quota exceeded: %(reason)s"


class NoMoreTargets(NovaException):
    message = "All %(count)s iSCSI targets of volume host %(host)s are in use."
    code = 503


class VolumeNotAttached(Invalid):
    message = "Volume %(volume_id)s is not attached to %(instance_id)s."


# -- nova-volume drivers ---------------------------------------------------------------------------


class VolumeDriverError(NovaException):
    message = "Volume driver error: %(reason)s"


class VolumeIsBusy(NovaException):
    message = "Volume %(volume_name)s is busy: %(reason)s"
    code = 409


# -- volumes on instances (virt drivers) -----------------------------------------------------------


class DeviceInUse(Invalid):
    message = "The device %(mountpoint)s is already in use."
    code = 409


class VolumeAttachFailed(NovaException):
    message = "Could not attach the volume: %(reason)s"


# -- instance attributes -----------------------------------------------------------------------------


class InstanceTerminationDisabled(Invalid):
    message = ("The instance %(instance_id)s may not be terminated: its disableApiTermination attribute is set; "
               "clear it first.")
    code = 409


# -- ec2 (issue 15: CopyImage, shutdown behaviour, block device attributes) --------------------------


class IdempotentParameterMismatch(Invalid):
    message = "The client token %(client_token)s was used before with other parameters."


class DeviceNotMapped(Invalid):
    message = "No device is currently mapped at %(device)s on instance %(instance_id)s."


class FloatingIpIdNotFound(FloatingIpNotFound):
    message = "Floating IP %(floating_ip_id)s not found."


class ImageNameInUse(Duplicate):
    message = "The image name %(name)s is already in use by an image of the project."


# -- faults: database outages (issue 17) -------------------------------------------------------------


class DBConnectionError(DatabaseError):
    """The database server is unreachable, dropped the connection, or no pooled connection came free."""

    message = "The database is unavailable: %(reason)s"
    code = 503


# -- rabbit: RabbitMQ clusters and quorum queues -------------------------------------------------------


class BrokerRefusedQueues(NovaException):
    message = "The message broker at %(url)s refused the queues of topic %(topic)s: %(reason)s"


# -- hostile (issue 17: signatures bind the project) ----------------------------------------------------


class UnsignedProjectKey(NotAuthorized):
    message = ("Access key %(access_key)s is user %(user_id)s's own key, which this kind of signature does not "
               "cover, so it cannot bind the request to project %(project_id)s; sign with the project's own "
               "access key (nova-manage credentials create %(user_id)s %(project_id)s; the novarc of nova-manage "
               "project environment has it)")


# -- branch first: nova-combined's own libvirtd and network namespace --------------------------------


class LibvirtdUnavailable(NovaException):
    message = "Cannot start libvirtd: %(reason)s"


class CombinedNetnsError(NovaException):
    message = "Cannot set up the network namespace %(netns)s: %(reason)s"


# -- hosts (issue 13: many hosts; nova-manage service delete) -------------------------------------------


class ServiceInUse(Invalid):
    message = "%(binary)s on %(host)s cannot be deleted: %(reason)s"
