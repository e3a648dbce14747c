"""Alembic environment: runs on the connection ``nova.db.migration`` hands in."""

from alembic import context

from nova.db.sqlalchemy import models, session


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        with session.get_engine().begin() as own_connection:
            _run(own_connection)
    else:
        _run(connection)


def _report(ctx, step, heads, run_args) -> None:
    progress = context.config.attributes.get("progress")
    if progress is not None:
        script = step.up_revision
        summary = script.doc if script is not None else ""
        verb = "Applied" if step.is_upgrade else "Reverted"
        progress(f"{verb} {step.up_revision_id}: {summary}" if summary else f"{verb} {step.up_revision_id}")


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=models.Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        on_version_apply=_report,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("nova migrations run online only: use nova-manage db sync")
run_migrations()
