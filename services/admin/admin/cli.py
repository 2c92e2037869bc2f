"""The operator CLI: `python -m admin.cli <command>`; the same operations as the API."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from admin import reconciliation, reconciliation_resync
from admin import tenant_operations as operations
from admin.admin_services import AdminServices
from admin.invoice_preview import preview_invoice, preview_json, preview_next, preview_text
from admin.replay import DeadLetterFilter, replay_dead_letters, replay_topic
from admin.smoke.results import any_failed
from admin.smoke.suite import PROVIDERS, SmokeNotRunnable, run_smoke_checks
from admin.stores.api_keys import ApiKeyStore, Role
from invoicesync.clients.json_body import dump_json
from invoicesync.clients.smtp_mail import SmtpMailer
from invoicesync.domain.canonical import Destination
from invoicesync.domain.tenant_settings import StartPoint, StartPointKind
from invoicesync.errors import InvalidInput, Transient
from invoicesync.events import Topic
from invoicesync.notification_summaries import send_summary_now, summary_now
from invoicesync.settings import Settings
from invoicesync.stores.backfill_jobs import JobStatus
from invoicesync.stores.notification_outbox import NotificationOutbox
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.tenant_settings_schema import settings_from_json

DEV_KEY_FILE = Path("var/dev-operator-key")
BAR_WIDTH = 40


def dev_key(settings: Settings, key_file: Path) -> str:
    """The local operator key: made once, kept in `key_file`, re-registered if Redis lost it."""
    store = ApiKeyStore(redis_from_settings(settings))
    if key_file.exists():
        secret = key_file.read_text().strip()
        if store.authenticate(secret) is not None:
            return secret
    issued = store.issue(Role.OPERATOR, label="local development")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(issued.secret + "\n")
    os.chmod(key_file, 0o600)
    return issued.secret


def _start_point(args: argparse.Namespace) -> StartPoint | None:
    if args.from_invoice:
        return StartPoint(StartPointKind.INVOICE_ID, invoice_id=args.from_invoice)
    if args.from_date:
        return StartPoint(StartPointKind.DATE, on_date=date.fromisoformat(args.from_date))
    if args.from_first:
        return StartPoint(StartPointKind.FIRST_INVOICE)
    return None


def _aware(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise SystemExit(f"{option} needs a UTC offset, e.g. 2026-01-01T00:00:00+00:00")
    return moment


def _progress_line(published: int, total: int | None, pages: int, status: str) -> str:
    if total:
        done = min(BAR_WIDTH, BAR_WIDTH * published // max(total, 1))
        bar = "#" * done + "-" * (BAR_WIDTH - done)
        return f"[{bar}] {published}/{total} invoices, {pages} pages, {status}"
    return f"{published} invoices published, {pages} pages, {status}"


def _backfill(services: AdminServices, args: argparse.Namespace) -> int:
    job, created = operations.start_backfill(services, args.tenant, _start_point(args))
    print(f"backfill {job.id} {'queued' if created else 'already ' + job.status.value}")
    while args.watch:
        job = services.backfill_jobs.get(job.id) or job
        line = _progress_line(job.published, job.estimated_total, job.pages_done, job.status)
        print(f"\r{line}", end="", flush=True)
        if job.status in (JobStatus.DONE, JobStatus.FAILED):
            print()
            return 0 if job.status is JobStatus.DONE else 1
        time.sleep(args.interval)
    return 0


def _reconcile(services: AdminServices, args: argparse.Namespace) -> int:
    """Read the period (resuming --job where it stopped), print the groups, totals and calls."""
    jobs = reconciliation.ReconciliationJobs(services.redis)
    if args.job:
        job = jobs.get(args.tenant, args.job)
        if job is None:
            print(f"no reconciliation {args.job}", file=sys.stderr)
            return 2
    else:
        job = reconciliation.start_reconciliation(
            services, args.tenant, date.fromisoformat(args.from_date), date.fromisoformat(args.to)
        )
    print(f"reconciliation {job.id} ({job.first} to {job.last})")

    def progress(current: reconciliation.ReconciliationJob) -> None:
        print(
            f"\r{current.phase}: {current.orders_read} orders, "
            f"{current.ledger_invoices_read} ledger invoices, {current.api_calls} API calls",
            end="",
            flush=True,
        )

    job = reconciliation.run_reconciliation(services, job, on_progress=progress)
    print()
    if job.status != "done":
        print(f"{job.status}: {job.error} (resume with --job {job.id})", file=sys.stderr)
        return 1
    report = reconciliation.report_of(services, job)
    for total in report.totals:
        print(
            f"{total.group.value:<18} {total.currency} {total.count:>5}  "
            f"Keap {total.keap_amount}  ledger {total.ledger_amount}"
        )
    for row in report.rows:
        if row.group.value == "matched":
            continue
        detail = "; ".join(f"{d.name} Keap {d.keap} / ledger {d.ledger}" for d in row.differences)
        word = f"last: {row.last_word.outcome} {row.last_word.reason}" if row.last_word else ""
        print(f"  {row.group.value} {row.kind} {row.number} {detail}{word}".rstrip())
    print(f"api calls: {job.api_calls} (Keap {job.keap_calls}, ledger {job.ledger_calls})")
    if args.csv:
        with open(args.csv, "w", newline="") as out:
            csv.writer(out).writerows(reconciliation.report_csv_rows(report))
        print(f"written to {args.csv}")
    if args.resync:
        done = reconciliation_resync.resync(services, job)
        print(
            f"re-sync: {len(done.orders)} orders driven again ({len(done.reissued)} reissued), "
            f"{len(done.voided)} ledger invoices to void, "
            f"{len(done.recorded_in_keap)} ledger payments to record in Keap"
        )
    return 0


def _send_summary(services: AdminServices, args: argparse.Namespace) -> int:
    """The daily summary of everything waiting for the tenant, now (printed with --dry-run)."""
    operations.require_tenant(services, args.tenant)
    outbox = NotificationOutbox(services.redis)
    now = datetime.now(UTC)
    draft = summary_now(
        outbox, services.tenants, services.settings.public_base_url, args.tenant, now
    )
    if draft.content is None:
        print(f"nothing waiting for {args.tenant}: no summary to send")
        return 0
    if args.dry_run:
        print(f"To: {draft.recipient or '(no notification address set)'}")
        print(f"Subject: {draft.content.subject}\n")
        print(draft.content.text)
        print(f"(dry run: not sent; {len(draft.items)} results still waiting)")
        return 0
    if not draft.recipient:
        print(f"{args.tenant} has no notification address; nothing sent", file=sys.stderr)
        return 1
    try:
        send_summary_now(outbox, SmtpMailer(services.settings), args.tenant, draft, now)
    except Transient as exc:
        print(f"not sent: {exc}", file=sys.stderr)
        return 1
    print(f"summary sent to {draft.recipient} ({len(draft.items)} results)")
    return 0


def _smoke(settings: Settings, args: argparse.Namespace) -> int:
    if args.write and not args.sandbox_confirmed:
        print(
            "--write creates and voids an invoice in the connected organisation; add "
            "--yes-this-is-a-sandbox if it is a sandbox or demo company",
            file=sys.stderr,
        )
        return 2
    client = redis_from_settings(settings)
    try:
        results = run_smoke_checks(settings, client, args.provider, args.tenant, write=args.write)
    except SmokeNotRunnable as exc:
        print(exc, file=sys.stderr)
        return 2
    finally:
        client.close()
    for result in results:
        print(result.line())
    return 1 if any_failed(results) else 0


def _credentials(services: AdminServices, args: argparse.Namespace) -> int:
    """Keys by id, any owner (operator keys too); hook tokens by tenant."""
    if args.command == "api-keys":
        for key in operations.tenant_api_keys(services, args.tenant):
            print(f"{key.key_id}  {key.created_at:%Y-%m-%d %H:%M}  {key.label}")
    elif args.command == "rotate-key":
        issued = services.api_keys.rotate(args.key_id)
        if issued is None:
            print(f"no such API key: {args.key_id}", file=sys.stderr)
            return 2
        print(f"api key  {issued.secret}   (shown once; {args.key_id} no longer works)")
    elif args.command == "revoke-key":
        if services.api_keys.get(args.key_id) is None:
            print(f"no such API key: {args.key_id}", file=sys.stderr)
            return 2
        services.api_keys.revoke(args.key_id)
        print(f"api key {args.key_id} revoked")
    elif args.command == "rotate-hook-token":
        tenant = operations.rotate_hook_token(services, args.tenant)
        print(f"hook url {operations.hook_url(services, tenant)}")
    return 0


def _preview(services: AdminServices, args: argparse.Namespace) -> int:
    tenant = operations.require_tenant(services, args.tenant)
    settings = None
    if args.settings:
        settings = settings_from_json(json.loads(args.settings.read_text()))
    if args.invoice_id:
        previews = [preview_invoice(services, tenant.id, args.invoice_id, settings)]
    else:
        previews = preview_next(services, tenant.id, args.next, settings)
    for preview in previews:
        if args.json:
            print(dump_json(preview_json(preview)))
        else:
            print(preview_text(preview))
    if not previews:
        print("nothing would sync")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="invoicesync", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-tenant", help="create a tenant and its API key")
    create.add_argument("--name", required=True)
    create.add_argument("--destination", required=True, choices=[d.value for d in Destination])
    connect = commands.add_parser(
        "connect", help="print the console page where the tenant connects a provider"
    )
    connect.add_argument("tenant")
    connect.add_argument("provider", choices=["keap", "xero", "qbo"])
    sync = commands.add_parser("sync-id", help="sync one Keap invoice now")
    sync.add_argument("tenant")
    sync.add_argument("invoice_id")
    preview = commands.add_parser(
        "preview", help="show what syncing an invoice would post; nothing is written"
    )
    preview.add_argument("tenant")
    which = preview.add_mutually_exclusive_group(required=True)
    which.add_argument("invoice_id", nargs="?", help="a Keap invoice id")
    which.add_argument("--next", type=int, help="the next N invoices a sync would write")
    preview.add_argument("--json", action="store_true", help="the ledger documents as JSON")
    preview.add_argument("--settings", type=Path, help="a settings JSON file to try instead")
    retry = commands.add_parser(
        "retry-failed", help="sync again every invoice and payment whose last outcome failed"
    )
    retry.add_argument("tenant")
    backfill = commands.add_parser("backfill", help="start a backfill and show its progress")
    backfill.add_argument("tenant")
    start = backfill.add_mutually_exclusive_group()
    start.add_argument("--from-first", action="store_true")
    start.add_argument("--from-invoice", type=int)
    start.add_argument("--from-date", help="YYYY-MM-DD")
    backfill.add_argument("--watch", action=argparse.BooleanOptionalAction, default=True)
    backfill.add_argument("--interval", type=float, default=1.0)
    replay = commands.add_parser("replay", help="replay a tenant's topic from a time")
    replay.add_argument("--topic", required=True, choices=[t.value for t in Topic])
    replay.add_argument("--tenant", required=True)
    replay.add_argument("--from-time", required=True, help="ISO-8601 with a UTC offset")
    dlq = commands.add_parser(
        "dlq-replay",
        help="replay every dead letter of a tenant, consumer group and time range, once",
    )
    dlq.add_argument("--tenant")
    dlq.add_argument("--group", help="the consumer group that gave up, e.g. invoicesync-transform")
    dlq.add_argument("--since", help="ISO-8601 with a UTC offset")
    dlq.add_argument("--until", help="ISO-8601 with a UTC offset")
    status = commands.add_parser("status", help="a tenant's connections, last poll, lag, counts")
    status.add_argument("tenant")
    smoke = commands.add_parser(
        "smoke", help="check what the provider notes leave unverified, on one connected tenant"
    )
    smoke.add_argument("--provider", required=True, choices=PROVIDERS)
    smoke.add_argument("--tenant", required=True, help="a tenant connected to a test account")
    smoke.add_argument(
        "--write", action="store_true", help="also create and void one marked invoice (xero, qbo)"
    )
    smoke.add_argument(
        "--yes-this-is-a-sandbox",
        dest="sandbox_confirmed",
        action="store_true",
        help="confirm the connected organisation is a sandbox or demo company (needed by --write)",
    )
    summary = commands.add_parser(
        "send-summary", help="send a tenant's daily summary of what is waiting, now"
    )
    summary.add_argument("--tenant", required=True)
    summary.add_argument(
        "--dry-run", action="store_true", help="print it; send nothing and leave it waiting"
    )
    recon = commands.add_parser(
        "reconcile", help="Keap beside the ledger for a period, in four groups; CSV, re-sync"
    )
    recon.add_argument("tenant")
    recon.add_argument("--from", dest="from_date", help="YYYY-MM-DD")
    recon.add_argument("--to", help="YYYY-MM-DD")
    recon.add_argument("--job", help="resume this reconciliation instead of starting one")
    recon.add_argument("--csv", type=Path, help="also write the report to this CSV file")
    recon.add_argument(
        "--resync", action="store_true", help="then drive the missing and different again"
    )
    keys = commands.add_parser("api-keys", help="a tenant's API keys (ids and labels)")
    keys.add_argument("tenant")
    rotate = commands.add_parser(
        "rotate-key", help="a new API key in place of KEY_ID, which stops working at once"
    )
    rotate.add_argument("key_id")
    revoke = commands.add_parser("revoke-key", help="revoke the API key KEY_ID")
    revoke.add_argument("key_id")
    hook = commands.add_parser(
        "rotate-hook-token", help="a new Keap hook URL; the old one is refused from now on"
    )
    hook.add_argument("tenant")
    key = commands.add_parser("dev-key", help="the local operator API key (made once)")
    key.add_argument("--file", type=Path, default=DEV_KEY_FILE)
    return parser


def run(argv: list[str], settings: Settings) -> int:
    args = _parser().parse_args(argv)
    if args.command == "dev-key":
        print(dev_key(settings, args.file))
        return 0
    if args.command == "replay":
        from_time = datetime.fromisoformat(args.from_time)
        if from_time.tzinfo is None:
            raise SystemExit("--from-time needs a UTC offset, e.g. 2026-01-01T00:00:00+00:00")
        print(replay_topic(settings, Topic(args.topic), args.tenant, from_time), "replayed")
        return 0
    if args.command == "dlq-replay":
        which = DeadLetterFilter(
            args.tenant, args.group, _aware(args.since, "--since"), _aware(args.until, "--until")
        )
        outcome = replay_dead_letters(settings, which)
        print(
            f"{outcome.replayed} replayed, {outcome.already_replayed} replayed before "
            f"({outcome.matched} matched)"
        )
        return 0
    if args.command == "smoke":
        return _smoke(settings, args)
    services = AdminServices.from_settings(settings)
    try:
        if args.command == "create-tenant":
            tenant, key = operations.create_tenant(
                services, args.name, Destination(args.destination)
            )
            print(f"tenant   {tenant.id}\nhook url {operations.hook_url(services, tenant)}")
            print(f"api key  {key.secret}   (shown once)")
        elif args.command == "connect":
            # A consent is bound to the browser that starts it: it starts in the console.
            tenant = operations.require_tenant(services, args.tenant)
            base = settings.public_base_url.rstrip("/")
            print(f"{base}/tenants/{tenant.id}/connections  (sign in, Connect {args.provider})")
        elif args.command == "sync-id":
            event_id = operations.request_invoice_sync(services, args.tenant, args.invoice_id)
            print(f"invoice {args.invoice_id} queued (notification {event_id})")
        elif args.command == "preview":
            return _preview(services, args)
        elif args.command == "retry-failed":
            count = operations.retry_failed(services, args.tenant)
            print(f"{count} failed invoices, payments or orders queued again")
        elif args.command == "backfill":
            return _backfill(services, args)
        elif args.command == "reconcile":
            if not args.job and not (args.from_date and args.to):
                raise SystemExit("reconcile needs --from and --to, or --job")
            return _reconcile(services, args)
        elif args.command == "send-summary":
            return _send_summary(services, args)
        elif args.command == "status":
            print(json.dumps(operations.tenant_status(services, args.tenant), indent=2))
        else:
            return _credentials(services, args)
        return 0
    except operations.TenantNotFound as exc:
        print(f"no such tenant: {exc}", file=sys.stderr)
        return 2
    except InvalidInput as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        services.close()


def main() -> None:
    sys.exit(run(sys.argv[1:], Settings.from_env()))


if __name__ == "__main__":
    main()
