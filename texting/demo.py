"""Business Texting demo data (called by `manage.py seed_demo`): Acme Corp's switch on, three texting users in the
Austin Office with registered primary numbers, a month of texts (some blocked, one opt-out) and one text older
than the retention period so the purge has something to do. Idempotent: a second run changes nothing."""

import random
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from portal.models import Organisation, User
from provisioning.models import Location, PhoneNumber

from .models import BlockReason, Message, OptOut, ServiceSettings
from .segments import count_segments

TEXTERS = [
    ("tara.texter@acme.example", "Tara Texter"),
    ("omar.outreach@acme.example", "Omar Outreach"),
    ("sofia.service@acme.example", "Sofia Service"),
]
CUSTOMERS = [f"+1737555{n:04d}" for n in range(101, 131)]
OPTED_OUT = CUSTOMERS[7]
OUTBOUND = [
    "Hi, this is Acme: your order has shipped and arrives Thursday.",
    "Your appointment is confirmed for tomorrow at 10:00. Reply C to cancel.",
    "Thanks for calling Acme! Here is the link to your quote: acme.example/q/1234",
    "Good news: the part you ordered is in stock. We can install it on Monday.",
    "Reminder: your Acme service visit is today between 1 and 3 pm.",
    "We received your payment. Thank you!",
]
INBOUND = ["Thanks!", "Can we move it to Friday?", "Great, see you then", "What time do you open?", "👍", "OK"]


def seed_demo_texting() -> None:
    acme = Organisation.objects.filter(name="Acme Corp").first()
    austin = Location.objects.filter(organisation=acme, name="Austin Office").first() if acme else None
    if austin is None:
        return
    with transaction.atomic():
        ServiceSettings.objects.get_or_create(organisation=acme, defaults={"business_texting_enabled": True})
        numbers = _texting_users(acme, austin)
        if not Message.objects.filter(organisation=acme).exists():
            _texts(acme, numbers)
        # The opt-out registry also holds a number an administrator added by hand (Business Texting → Opt-out
        # registry), beside the STOP above.
        OptOut.objects.get_or_create(
            organisation=acme,
            party="+15125550188",
            defaults=dict(
                source=OptOut.Source.MANUAL,
                reason="Asked us by phone not to text them",
                added_by=User.objects.filter(email="admin@acme.example").first(),
            ),
        )


def _texting_users(acme, austin) -> list[PhoneNumber]:
    password = make_password(settings.PORTAL_DEMO_PASSWORD)
    free = iter(PhoneNumber.objects.filter(location=austin).order_by("e164"))
    numbers = []
    for email, name in TEXTERS:
        user, _ = User.objects.get_or_create(
            email=email,
            defaults=dict(
                full_name=name,
                organisation=acme,
                role=User.Role.END_USER,
                webex_app_version="42.12.0.2345",
                password=password,
            ),
        )
        number = PhoneNumber.objects.filter(assigned_user=user, is_primary=True).first()
        while number is None:
            candidate = next(free)
            if candidate.assigned_user_id is None:
                candidate.assigned_user, candidate.is_primary = user, True
                candidate.save(update_fields=["assigned_user", "is_primary"])
                number = candidate
        if number.texting_state != PhoneNumber.TextingState.REGISTERED:
            # The demo skips the 10DLC registration for these numbers: they text at once.
            number.texting_state = PhoneNumber.TextingState.REGISTERED
            number.texting_state_changed = timezone.now()
            number.save(update_fields=["texting_state", "texting_state_changed"])
        numbers.append(number)
    return numbers


def _texts(acme, numbers) -> None:
    rng = random.Random(5)
    now = timezone.now()
    texts = []

    def add(number, party, direction, body, status, *, reason="", ago, auto=False, detail=""):
        segments = count_segments(body)
        created = now - ago
        texts.append(
            Message(
                organisation=acme,
                user=number.assigned_user if direction == "outbound" and not auto else None,
                business_number=number.e164,
                other_party=party,
                direction=direction,
                body=body,
                encoding=segments.encoding,
                segments=segments.segments,
                status=status,
                blocked_reason=reason,
                status_detail=detail,
                is_automatic_reply=auto,
                created_at=created,
                status_changed=created,
            )
        )

    blocked = [
        (
            BlockReason.INTERNATIONAL_DESTINATION,
            "+447911123456",
            "Business Texting supports only US and Canadian numbers.",
        ),
        (BlockReason.MEDIA_NOT_SUPPORTED, None, "Pictures and other attachments (MMS) are not supported."),
        (BlockReason.APP_VERSION_TOO_OLD, None, "Update to Webex App 42.12 or later."),
        (BlockReason.BURST_LIMIT_EXCEEDED, None, "Too many texts this minute."),
    ]
    opted_out_at = timedelta(days=12, hours=3)
    for day in range(30):
        for _ in range(rng.randint(4, 14)):
            number = rng.choice(numbers)
            party = rng.choice([c for c in CUSTOMERS if c != OPTED_OUT or day > 12])
            ago = timedelta(days=day, minutes=rng.randint(0, 24 * 60 - 1))
            status = "failed" if rng.random() < 0.03 else "delivered"
            add(
                number,
                party,
                "outbound",
                rng.choice(OUTBOUND),
                status,
                ago=ago,
                detail="Destination unreachable" if status == "failed" else "",
            )
            if rng.random() < 0.4:
                add(number, party, "inbound", rng.choice(INBOUND), "received", ago=ago - timedelta(minutes=7))
        if rng.random() < 0.5:
            reason, party, detail = rng.choice(blocked)
            add(
                rng.choice(numbers),
                party or rng.choice(CUSTOMERS),
                "outbound",
                rng.choice(OUTBOUND),
                "blocked",
                reason=reason,
                ago=timedelta(days=day, hours=rng.randint(8, 18)),
                detail=detail,
            )

    # One customer opted out twelve days ago: their STOP, the single confirmation, and a text refused since.
    number = numbers[0]
    add(number, OPTED_OUT, "inbound", "STOP", "received", ago=opted_out_at)
    add(
        number,
        OPTED_OUT,
        "outbound",
        "Acme Corp: You are unsubscribed and will receive no more messages. Reply START to resubscribe.",
        "delivered",
        ago=opted_out_at - timedelta(seconds=2),
        auto=True,
    )
    add(
        numbers[1],
        OPTED_OUT,
        "outbound",
        OUTBOUND[0],
        "blocked",
        reason=BlockReason.RECIPIENT_OPTED_OUT,
        ago=timedelta(days=3, hours=2),
        detail="The recipient replied STOP.",
    )
    OptOut.objects.get_or_create(
        organisation=acme,
        party=OPTED_OUT,
        defaults=dict(business_number=number.e164, keyword="STOP", opted_out_at=now - opted_out_at),
    )

    # Older than the retention period: the next purge deletes it.
    add(
        numbers[2],
        CUSTOMERS[0],
        "outbound",
        "Happy holidays from Acme!",
        "delivered",
        ago=timedelta(days=settings.MESSAGE_RETENTION_DAYS + 5),
    )
    Message.objects.bulk_create(texts, batch_size=500)
