"""The tag service API: what every front end calls to read and change tags.

Tags belong to a project and hang on a resource named by its type
(``instance``, ``key-pair``, ``security-group``, ``image``, ...) and database
id.  A resource type becomes taggable when its service API registers a
function that raises the resource's NotFound error when the caller cannot see
it, so another project's resource is "not found", never "forbidden".
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from nova import context as nova_context
from nova import exception
from nova.db import api as db

Context = nova_context.RequestContext
Checker = Callable[[Context, int], Any]

MAX_TAGS_PER_RESOURCE = 50
_CHECKERS: dict[str, Checker] = {}


def register_taggable(resource_type: str, check: Checker) -> None:
    """Let ``resource_type`` be tagged; ``check(ctxt, id)`` raises NotFound when ``ctxt`` cannot see it."""
    _CHECKERS[resource_type] = check


def taggable_types() -> list[str]:
    return sorted(_CHECKERS)


def check_key(key: str) -> None:
    if key.lower().startswith("aws:"):
        raise exception.ReservedTagKey(key=key[:127])


class API:
    """Tags of the caller's project."""

    def check_visible(self, ctxt: Context, resource_type: str, resource_id: int) -> None:
        check = _CHECKERS.get(resource_type)
        if check is None:
            raise exception.NotTaggable(resource_type=resource_type[:60])
        check(ctxt, resource_id)

    def get_by_resources(self, ctxt: Context, resource_type: str,
                         resource_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """``{resource_id: {key: value}}`` for many resources in one query."""
        ids = list(resource_ids)
        return db.tag_get_by_resources(ctxt, resource_type, ids) if ids else {}

    def get_all(self, ctxt: Context, resource_type: str | None = None) -> list[Any]:
        return db.tag_get_all(ctxt, {"resource_type": resource_type} if resource_type else {})

    def create(self, ctxt: Context, targets: list[tuple[str, int]], pairs: dict[str, str | None]) -> None:
        """Set ``pairs`` on every (type, id) in ``targets``: all or nothing as far as the checks go."""
        for key in pairs:
            check_key(key)
        for resource_type, resource_id in targets:
            self.check_visible(ctxt, resource_type, resource_id)
        existing = {}
        for resource_type in {t for t, _ in targets}:
            ids = [i for t, i in targets if t == resource_type]
            for resource_id, tags in self.get_by_resources(ctxt, resource_type, ids).items():
                existing[(resource_type, resource_id)] = tags
        for target in targets:
            if len(set(existing.get(target, {})) | set(pairs)) > MAX_TAGS_PER_RESOURCE:
                raise exception.TagLimitExceeded(limit=MAX_TAGS_PER_RESOURCE)
        for resource_type, resource_id in targets:
            self.apply(ctxt, resource_type, resource_id, pairs)

    def apply(self, ctxt: Context, resource_type: str, resource_id: int, pairs: dict[str, str | None]) -> None:
        """Set tags on a resource the caller just made (no visibility check)."""
        for key, value in pairs.items():
            check_key(key)
            db.tag_create_or_update(ctxt, resource_type, resource_id, key, value)

    def delete(self, ctxt: Context, targets: list[tuple[str, int]],
               keys: list[tuple[str, str | None]] | None) -> None:
        """Remove tags (key, or key with a given value) from each target; all tags when ``keys`` is None."""
        for resource_type, resource_id in targets:
            self.check_visible(ctxt, resource_type, resource_id)
        for resource_type, resource_id in targets:
            if not keys:
                db.tag_delete_all_for_resource(ctxt, resource_type, resource_id)
            for key, value in keys or ():
                db.tag_delete(ctxt, resource_type, resource_id, key, value)

    def delete_all(self, ctxt: Context, resource_type: str, resource_id: int) -> None:
        """Forget a deleted resource's tags."""
        try:
            db.tag_delete_all_for_resource(ctxt, resource_type, resource_id)
        except exception.NotFound:
            pass
