"""Helpers shared by the compute tests: users' contexts, images, a recording scheduler."""

from __future__ import annotations

import io
from typing import Any

from nova import context, flags
from nova.image import get_default_image_service
from tests.fixtures.rpc import FakeManagerBase


def user_context(project: str = "proj-a", user: str = "alice") -> context.RequestContext:
    return context.RequestContext(user, project)


def make_image(ctxt: context.RequestContext, data: bytes = b"\0" * 4096, **metadata: Any) -> dict[str, Any]:
    """A stored (available) image owned by ``ctxt``'s project."""
    images = get_default_image_service()
    image = images.create(ctxt, dict({"name": "test-image"}, **metadata))
    return images.store(ctxt, image["id"], io.BytesIO(data))


class RecordingScheduler(FakeManagerBase):
    """Stands in for nova-scheduler: keeps what it was asked to run."""

    def __init__(self, host: str | None = None) -> None:
        super().__init__(host)
        self.requests: list[dict[str, Any]] = []

    def run_instance(self, ctxt: Any, topic: str, instance_id: int, availability_zone: str | None = None,
                     forced_host: str | None = None, vcpus: int | None = None,
                     memory_mb: int | None = None) -> None:
        self.requests.append({"topic": topic, "instance_id": instance_id, "availability_zone": availability_zone,
                              "forced_host": forced_host, "project_id": ctxt.project_id, "vcpus": vcpus,
                              "memory_mb": memory_mb})


def serve_recording_scheduler(memory_rpc: Any) -> RecordingScheduler:
    """A RecordingScheduler answering the scheduler topic on the in-memory transport."""
    manager = RecordingScheduler("test-host")
    memory_rpc.server(flags.FLAGS.scheduler_topic, manager)
    return manager
