"""Base of the typed RPC clients (``nova.<service>.rpcapi``).

A client method names its manager method and arguments once, and chooses
``call`` (wait for the result), ``cast`` (persistent, fire and forget) or
``fanout_cast`` (every server of the topic running now), on the service's
topic or on ``topic.<host>``.  This class is the one place that turns those
into ``{"method": ..., "args": ...}`` messages.
"""

from __future__ import annotations

from typing import Any

from nova import context as nova_context
from nova import flags
from nova.rpc import client

FLAGS = flags.FLAGS

Context = nova_context.RequestContext


class RpcProxy:
    """Sends messages for one service; subclasses set ``topic_flag`` (and maybe ``timeout_flag``)."""

    topic_flag = ""
    timeout_flag: str | None = None

    def __init__(self, topic: str | None = None) -> None:
        self._topic = topic

    @property
    def topic(self) -> str:
        """The topic given, else the service's topic flag, read at each use (flags change under tests)."""
        return self._topic or getattr(FLAGS, self.topic_flag)

    @property
    def timeout(self) -> float | None:
        """Seconds a call waits; None for ``--rpc_response_timeout``."""
        return getattr(FLAGS, self.timeout_flag) if self.timeout_flag else None

    def host_topic(self, host: str) -> str:
        return f"{self.topic}.{host}"

    @staticmethod
    def make_msg(method: str, **args: Any) -> dict[str, Any]:
        return {"method": method, "args": args}

    def call(self, ctxt: Context, msg: dict[str, Any], host: str | None = None,
             timeout: float | None = None) -> Any:
        """Wait for the result of ``msg`` on the topic, or on ``topic.<host>`` when ``host`` is given."""
        topic = self.host_topic(host) if host else self.topic
        return client.call(ctxt, topic, msg, timeout=self.timeout if timeout is None else timeout)

    def cast(self, ctxt: Context, msg: dict[str, Any], host: str | None = None) -> None:
        topic = self.host_topic(host) if host else self.topic
        client.cast(ctxt, topic, msg)

    def fanout_cast(self, ctxt: Context, msg: dict[str, Any]) -> None:
        client.fanout_cast(ctxt, self.topic, msg)
