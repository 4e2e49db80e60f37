"""Sending policy speed with 100,000 stored texts: prints figures, exits 1 when the target is missed.

The figure that matters: the median time of the send endpoint's policy check (texting.policy.check_sending_policy:
every rule, including the opt-out lookup and taking one text from the volume counters), target < 5 ms. For context
it also prints the whole `POST /api/texting/messages` (token check, policy, storing the text) and the SQL queries
each issues. The sender's number holds a day's worth of texts, so the database counters (used without Redis) have
real rows to count.

Run: `.venv/bin/python benchmarks/policy_check.py` (SQLite) or with DATABASE_URL=postgres://... (it creates and drops
its own database, benchmarks/_texting_db.database); with REDIS_URL the volume counters are in Redis.
Options: --messages N (default 100,000), --runs N (default 500), --in-campaign (the sender's number is in an active
10DLC campaign of a vetted brand, so the campaign and brand limits are checked and counted too).
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _texting_db  # noqa: E402
from _services import run_main  # noqa: E402 (on the path _texting_db adds)

POLICY_TARGET_MS = 5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--in-campaign", action="store_true")
    args = parser.parse_args()
    with _texting_db.database("policy_check"):
        return run(args)


def run(args) -> int:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.utils import timezone

    from portal.celery import override
    from tests.texting.factories import APP_VERSION, issue_token, make_texter
    from texting.models import Message, OptOut
    from texting.policy import check_sending_policy
    from texting.volume import KEY_PREFIX, redis_client

    setup_test_environment(debug=False)  # no query log slowing the timed runs
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The runs below each take a text from the allowance (Redis) without storing it: lift the limits so that every
    # check runs every rule and is allowed.
    settings.TEXTING_DAILY_CAP_PER_NUMBER = settings.TEXTING_BURST_PER_MINUTE = 10**9
    # Accepted texts are queued for the carrier, not sent in-process (no broker needed).
    override(task_always_eager=False, broker_url="memory://localhost/")

    from portal.models import User
    from tests.factories import make_org, make_user

    org = make_org("Benchmark Corp")
    admin = make_user(org, role=User.Role.FULL_ADMIN, email="bench-admin@example.com")
    user, number = make_texter(org, email="bench-texter@example.com")
    if args.in_campaign:
        from tests.compliance.brand_factories import make_brand, make_campaign

        # Score 90: 4,500 texts a minute per campaign, 200,000 a day: every timed run is allowed.
        make_campaign(make_brand(org, vetting_score=90), numbers=[number])
    for i in range(200):
        OptOut.objects.create(organisation=org, party=f"+1737555{i:04d}", business_number=number.e164, keyword="STOP")

    table = Message._meta.db_table
    started = time.perf_counter()
    now = timezone.now()
    # The sender's number has sent 900 texts today (what the database counters count: never more than the daily
    # cap, 1,000 by default); the rest are other numbers' texts over the past year.
    params = {"org": org.pk, "n": args.messages, "sender": number.e164, "now": now}
    if connection.vendor == "postgresql":
        series = "SELECT g FROM generate_series(1, %(n)s) AS g"
        created = (
            "CASE WHEN g <= 900 THEN %(now)s - interval '2 minutes' - (g * 10) * interval '1 second' "
            "ELSE %(now)s - (g %% 365) * interval '1 day' - interval '1 day' END"
        )
        number_sql = "CASE WHEN g <= 900 THEN %(sender)s ELSE '+1512555' || lpad((g %% 400)::text, 4, '0') END"
        party_sql = "'+1737555' || lpad((g %% 9000)::text, 4, '0')"
        body_sql = "'Benchmark text ' || g"
    else:
        series = "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < %(n)s) SELECT g FROM s"
        params["now"] = now.strftime("%Y-%m-%d %H:%M:%S")
        created = (
            "CASE WHEN g <= 900 THEN datetime(%(now)s, '-' || (120 + g * 10) || ' seconds') "
            "ELSE datetime(%(now)s, '-' || (g %% 365 + 1) || ' days') END"
        )
        number_sql = "CASE WHEN g <= 900 THEN %(sender)s ELSE '+1512555' || substr('0000' || (g %% 400), -4) END"
        party_sql = "'+1737555' || substr('0000' || (g %% 9000), -4)"
        body_sql = "'Benchmark text ' || g"
    sql = f"""
        INSERT INTO {table} (organisation_id, user_id, business_number, other_party, direction, body, encoding,
                             segments, status, blocked_reason, status_detail, is_automatic_reply, carrier_message_id,
                             created_at, status_changed)
        SELECT %(org)s, NULL, {number_sql}, {party_sql}, 'outbound', {body_sql}, 'gsm7', 1, 'delivered', '', '',
               {"false" if connection.vendor == "postgresql" else "0"}, '', {created}, {created}
        FROM ({series}) AS t
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        else:
            cursor.execute("ANALYZE")
    stored = Message.objects.count()
    today = Message.objects.filter(business_number=number.e164).count()
    counters = "Redis" if settings.REDIS_URL else "the database"
    placement = "the number in a campaign" if args.in_campaign else "the number in no campaign"
    print(
        f"database: {connection.vendor}; {stored:,} stored texts ({today:,} from the sender's number); "
        f"volume counters in {counters}; {placement}; set-up {time.perf_counter() - started:.1f} s; {args.runs} runs"
    )

    def check():
        return check_sending_policy(
            user,
            to="+1 415 555 0123",
            body="Your order shipped.",
            media=None,
            app_version=APP_VERSION,
            now=timezone.now(),
        )

    assert check().allowed
    timings = []
    for _ in range(args.runs):
        began = time.perf_counter()
        check()
        timings.append(time.perf_counter() - began)
    with CaptureQueriesContext(connection) as ctx:
        check()
    policy_queries = len(ctx.captured_queries)
    policy_ms = statistics.median(timings) * 1000
    policy_p95 = sorted(timings)[int(len(timings) * 0.95)] * 1000

    token = issue_token(admin, user)
    client = Client()
    body = json.dumps({"to": "+1 415 555 0123", "body": "Your order shipped."})
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_X_WEBEX_APP_VERSION": APP_VERSION}
    assert client.post("/api/texting/messages", body, content_type="application/json", **headers).status_code == 202
    request_timings = []
    for _ in range(max(50, args.runs // 5)):
        began = time.perf_counter()
        client.post("/api/texting/messages", body, content_type="application/json", **headers)
        request_timings.append(time.perf_counter() - began)
    with CaptureQueriesContext(connection) as request_ctx:
        client.post("/api/texting/messages", body, content_type="application/json", **headers)
    request_queries = len(request_ctx.captured_queries)
    request_ms = statistics.median(request_timings) * 1000

    print()
    print(
        f"policy check:           median {policy_ms:6.2f} ms  p95 {policy_p95:6.2f} ms  "
        f"{policy_queries} SQL queries   (target: median < {POLICY_TARGET_MS} ms)  "
        f"{'OK' if policy_ms < POLICY_TARGET_MS else 'MISSED'}"
    )
    print(
        f"POST /api/texting/messages: median {request_ms:6.2f} ms  {request_queries} SQL queries "
        "(token, policy, storing the text)"
    )
    if settings.REDIS_URL:
        client_ = redis_client(settings.REDIS_URL)
        keys = list(client_.scan_iter(f"{KEY_PREFIX}:{number.e164}:*"))
        if keys:
            client_.delete(*keys)
    if policy_ms >= POLICY_TARGET_MS:
        print("benchmarks/policy_check.py: MISSED the policy check's median")
        return 1
    return 0


if __name__ == "__main__":
    run_main(main)
