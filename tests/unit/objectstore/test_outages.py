"""The objectstore while a service it needs is down: S3's 503, never a 500."""

import botocore.exceptions
import pytest

from nova import exception
from nova.auth import manager


def test_database_outage_is_service_unavailable_with_retry_after(objectstore, s3, monkeypatch):
    def down(*args, **kwargs):
        raise exception.DBConnectionError(reason="connection refused")

    monkeypatch.setattr(manager.AuthManager, "credentials_for_access_key", down)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        s3.list_buckets()
    response = caught.value.response
    assert response["Error"]["Code"] == "ServiceUnavailable"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
