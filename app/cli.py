"""Flask CLI: roles, tenants, demo seed, workers. Each command names its tenant explicitly."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.extensions import appbuilder, db

roles_cli = AppGroup("roles", help="Role rows used by the builtin role definitions.")
tenant_cli = AppGroup("tenant", help="Create and list tenants.")


@roles_cli.command("sync")
@with_appcontext
def roles_sync():
    """Create the Admin, Agency Admin, Owner, Staff and Public roles if missing (idempotent)."""
    created = appbuilder.sm.sync_roles()
    click.echo(f"roles created: {', '.join(created) if created else 'none (all present)'}")


@tenant_cli.command("create")
@click.argument("name")
@click.option("--owner", "owner", required=True, help="Owner's username (created if new).")
@click.option("--email", required=True, help="Owner's email.")
@click.option("--password", required=True, help="Owner's password (min 10 characters).")
@click.option("--agency", default=None, help="Agency name (created if new).")
@with_appcontext
def tenant_create(name, owner, email, password, agency):
    """Create tenant NAME with its owner; prints the new tenant's id."""
    from app.services.team import TeamError
    from app.services.tenants import TenantError, create_tenant

    if len(password) < 10:
        raise click.BadParameter("must be at least 10 characters", param_hint="--password")
    appbuilder.sm.sync_roles()
    try:
        tenant = create_tenant(
            name, owner_username=owner, owner_email=email, owner_password=password,
            agency_name=agency,
        )
    except (TeamError, TenantError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(tenant.id)


@tenant_cli.command("list")
@with_appcontext
def tenant_list():
    """List tenants: id, slug, name, agency."""
    from sqlalchemy import select

    from app.models import Tenant

    for t in db.session.scalars(select(Tenant).order_by(Tenant.id)):
        click.echo(f"{t.id}\t{t.slug}\t{t.name}\t{t.agency.name if t.agency else '-'}")


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Create the demo agency, tenants, users, catalog, campaigns, chats and orders (once)."""
    from app.services.demo import DemoSeedError, seed

    try:
        report = seed()
    except DemoSeedError as exc:
        raise click.ClickException(str(exc)) from exc
    if report.created:
        click.echo("Demo data created.")
    else:
        click.echo("Demo data already present; nothing changed.")
    for line in report.lines:
        click.echo(line)


@click.command("sweep")
@with_appcontext
def sweep_command():
    """Re-queue unprocessed webhook deliveries, unanswered messages and unsent replies."""
    from app.services.sweep import sweep

    report = sweep()
    click.echo(f"re-queued {report.deliveries} deliveries, {report.inbound} inbound and "
               f"{report.outbound} outbound messages")


@click.command("worker")
@click.option("--processes", "-n", default=1, show_default=True, help="Worker processes.")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True)
@click.option("--fork/--no-fork", default=False, show_default=True,
              help="Fork a work horse per job (crash isolation, but every job re-warms caches).")
@with_appcontext
def worker(processes, burst, with_scheduler, fork):
    """Run RQ workers on REDIS_URL; each job gets its own app context."""
    from rq import SimpleWorker, Worker
    from rq.serializers import JSONSerializer

    from app.jobs import QUEUE_NAME
    from app.jobs.context import set_worker_app

    redis = current_app.extensions.get("redis")
    if redis is None:
        raise click.ClickException("REDIS_URL is not set: the embedded default runs jobs in-process")
    set_worker_app(current_app._get_current_object())
    from app.jobs.maintenance import schedule_sweep

    if not burst:
        schedule_sweep(delay=5)  # the periodic sweep keeps itself going from here
    if processes > 1:
        from rq.worker_pool import WorkerPool

        WorkerPool([QUEUE_NAME], connection=redis, num_workers=processes,
                   worker_class=Worker if fork else SimpleWorker,
                   serializer=JSONSerializer).start(burst=burst)
        return
    (Worker if fork else SimpleWorker)([QUEUE_NAME], connection=redis, serializer=JSONSerializer).work(
        burst=burst, with_scheduler=with_scheduler
    )


def register(app: Flask) -> None:
    for command in (roles_cli, tenant_cli, seed_demo, sweep_command, worker):
        app.cli.add_command(command)
