"""The SQLAlchemy implementation behind ``nova.db.api``, one module per resource."""

from nova.db.sqlalchemy.api.auth import (  # noqa: F401
    project_add_member,
    project_create,
    project_delete,
    project_get,
    project_get_all,
    project_get_by_user,
    project_get_members,
    project_remove_member,
    project_update,
    user_add_project_role,
    user_add_role,
    user_create,
    user_delete,
    user_get,
    user_get_all,
    user_get_by_access_key,
    user_get_roles,
    user_get_roles_for_project,
    user_remove_project_role,
    user_remove_role,
    user_update,
)
from nova.db.sqlalchemy.api.instance_types import (  # noqa: F401
    instance_type_create,
    instance_type_destroy,
    instance_type_get,
    instance_type_get_all,
    instance_type_get_by_flavor_id,
    instance_type_get_by_name,
    instance_type_purge,
)
from nova.db.sqlalchemy.api.instances import (  # noqa: F401
    instance_create,
    instance_destroy,
    instance_get,
    instance_get_all,
    instance_get_all_by_host,
    instance_get_all_by_project,
    instance_update,
)
from nova.db.sqlalchemy.api.quotas import (  # noqa: F401
    quota_destroy_all_by_project,
    quota_get_all_by_project,
    quota_set,
)
from nova.db.sqlalchemy.api.services import (  # noqa: F401
    compute_node_create,
    compute_node_get_by_service,
    compute_node_update,
    service_create,
    service_destroy,
    service_get,
    service_get_all,
    service_get_all_by_host,
    service_get_all_by_topic,
    service_get_by_args,
    service_heartbeat,
    service_update,
)
