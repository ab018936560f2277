"""Flask CLI: roles, tenants, demo seed, workers. Each command names its tenant explicitly."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.extensions import appbuilder, db

roles_cli = AppGroup("roles", help="Role rows used by the builtin role definitions.")
tenant_cli = AppGroup("tenant", help="Create and list tenants.")
agency_cli = AppGroup("agency", help="Create agencies and their admins.")


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
@click.option("--password", required=True,
              help="Owner's password (12+ characters, hard to guess, not their name).")
@click.option("--agency", default=None,
              help="Existing agency to put the tenant in (made with `agency create`).")
@with_appcontext
def tenant_create(name, owner, email, password, agency):
    """Create tenant NAME with its owner; prints the new tenant's id."""
    from app.security.passwords import check_password
    from app.services.agencies import find_agency
    from app.services.team import TeamError
    from app.services.tenants import TenantError, create_tenant

    problems = check_password(password, [owner, email, name])
    if problems:
        raise click.BadParameter("; ".join(problems), param_hint="--password")
    if agency is not None and find_agency(agency) is None:  # a typo must not make a new agency
        raise click.BadParameter(
            f"no agency named {agency!r}: create it first with `flask --app run agency create`",
            param_hint="--agency")
    appbuilder.sm.sync_roles()
    try:
        tenant = create_tenant(
            name, owner_username=owner, owner_email=email, owner_password=password,
            agency_name=agency,
        )
    except (TeamError, TenantError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(tenant.id)


@tenant_cli.command("attach")
@click.argument("tenant")
@click.option("--agency", required=True, help="Name of an existing agency.")
@with_appcontext
def tenant_attach(tenant, agency):
    """Attach an existing tenant (id or slug) to an existing agency."""
    from sqlalchemy import or_, select

    from app.models import Tenant
    from app.services.agencies import AgencyError, attach_tenant

    key = int(tenant) if tenant.isdigit() else None
    found = db.session.scalar(select(Tenant).where(or_(Tenant.slug == tenant, Tenant.id == key)))
    if found is None:
        raise click.ClickException(f"No tenant with id or slug {tenant!r}")
    try:
        attached = attach_tenant(found, agency)
    except AgencyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{found.name} is now in {attached.name}")


@agency_cli.command("create")
@click.argument("name")
@click.option("--admin", "admin", required=True, help="The agency admin's username (new).")
@click.option("--email", required=True, help="The agency admin's email.")
@click.option("--password", required=True,
              help="The agency admin's password (12+ characters, hard to guess, not their name).")
@with_appcontext
def agency_create(name, admin, email, password):
    """Create agency NAME and its Agency Admin user; prints the new agency's id."""
    from app.security.passwords import check_password
    from app.services.agencies import AgencyError, create_agency

    problems = check_password(password, [admin, email, name])
    if problems:
        raise click.BadParameter("; ".join(problems), param_hint="--password")
    appbuilder.sm.sync_roles()
    try:
        agency = create_agency(name, admin_username=admin, admin_email=email, admin_password=password)
    except AgencyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(agency.id)


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
    """Re-queue unprocessed deliveries, unanswered messages, unsent replies, payments and the
    workflow jobs whose queue entries were lost."""
    from app.services.sweep import sweep

    report = sweep()
    click.echo(f"re-queued {report.deliveries} deliveries, {report.inbound} inbound and "
               f"{report.outbound} outbound messages, {report.payment_events} payment events and "
               f"{report.payment_links} payment links, {report.follow_ups} follow-ups and "
               f"{report.no_reply} no_reply checks; expired {report.expired_orders} test-mode links")


@click.command("worker")
@click.option("--processes", "-n", default=1, show_default=True, help="Worker processes.")
@click.option("--threads", "-t", type=click.IntRange(min=1), default=None,
              help="Jobs each process runs at once (one RQ worker per thread).  "
                   "[default: WORKER_THREADS (40); 1 with --fork]")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True)
@click.option("--fork/--no-fork", default=False, show_default=True,
              help="Fork a work horse per job (crash isolation, but every job re-warms caches).")
@with_appcontext
def worker(processes, threads, burst, with_scheduler, fork):
    """Run RQ workers on REDIS_URL; each job gets its own app context.

    Every worker listens to the default queue first and to the low-priority one (model
    ratings) only when the default queue is empty.

    Replies mostly wait on the LLM and the Graph API, so each process runs many jobs at once
    on threads (WORKER_THREADS, 40, unless -t says otherwise): a few such processes carry the
    load of dozens of single-job ones in a fraction of the memory and CPU. Each process also
    keeps its jobs' and locks' heartbeats, takes up a dead worker's jobs within seconds and
    queues the periodic sweep (app.jobs.recovery).
    """
    from rq import Worker
    from rq.serializers import JSONSerializer

    from app.jobs import QUEUE_NAMES
    from app.jobs.context import set_worker_app
    from app.jobs.threads import recovery_settings

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: the embedded default runs jobs in-process")
    redis = current_app.extensions["redis"]
    if fork and (threads or 1) > 1:
        raise click.BadParameter("a work horse per job and threads don't mix", param_hint="--fork")
    threads = threads or (1 if fork else current_app.config["WORKER_THREADS"])
    set_worker_app(_app_for_threads(threads) if threads > 1 else current_app._get_current_object())
    log_level = current_app.config["WORKER_LOG_LEVEL"]
    recovery = recovery_settings(current_app.config)
    if not fork:
        from app.jobs.threads import ThreadedWorkerPool, run_threads

        if processes > 1:
            ThreadedWorkerPool(QUEUE_NAMES, connection=redis, num_workers=processes, threads=threads,
                               serializer=JSONSerializer).start(burst=burst, logging_level=log_level)
        else:
            from app.jobs.threads import warm_up

            warm_up()
            run_threads(QUEUE_NAMES, redis, threads, burst=burst, with_scheduler=with_scheduler,
                        logging_level=log_level, **recovery)
        return
    if not burst:  # RQ's forking workers keep their own job heartbeats; the rest runs here
        import threading

        from app.jobs.recovery import ProcessHeartbeat, process_name

        ProcessHeartbeat(redis, QUEUE_NAMES, name=process_name(), job_ttl=recovery["job_ttl"],
                         sweep_every=recovery["sweep_every"], stop=threading.Event()).start()
    if processes > 1:
        from rq.worker_pool import WorkerPool

        WorkerPool(QUEUE_NAMES, connection=redis, num_workers=processes, worker_class=Worker,
                   serializer=JSONSerializer).start(burst=burst, logging_level=log_level)
        return
    Worker(QUEUE_NAMES, connection=redis, serializer=JSONSerializer).work(
        burst=burst, with_scheduler=with_scheduler, logging_level=log_level
    )


def _app_for_threads(threads: int) -> Flask:
    """The app the job threads use: like this one, with a database pool sized for threads.

    A job holds a connection only while it talks to the database (a reply gives it back
    before it waits on the model or the Graph API), so half as many connections as threads
    serve them. Kept open, not overflow: a connection opened past the pool is closed again
    when given back, and at dozens of replies a second that opening (a new PostgreSQL
    backend each time) cost more CPU than the queries; the overflow covers rare peaks."""
    from app import create_app
    from config import config_from_env

    cfg = config_from_env()()
    if not current_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        cfg.SQLALCHEMY_ENGINE_OPTIONS = {**current_app.config["SQLALCHEMY_ENGINE_OPTIONS"],
                                         "pool_size": min(threads // 2, 32) + 2, "max_overflow": max(threads // 4, 4)}
    return create_app(cfg)


def register(app: Flask) -> None:
    for command in (roles_cli, tenant_cli, agency_cli, seed_demo, sweep_command, worker):
        app.cli.add_command(command)
