"""The simulated carrier's objects (number orders, brands, campaigns, messages) in memory, and the API's actions on
them, free of HTTP. Each object's outcome is decided when it is created and becomes visible `delay_seconds` later,
computed whenever it is read, so no timer has to fire for a poll to see the answer.

Like the real registry, creating is not idempotent: a second object for a reference already used is created, and
counted in `duplicate_submissions`. (Idempotency keys are the server's job, one layer up.)
"""

import copy
import logging
import secrets
import string
import time
from collections import Counter
from dataclasses import dataclass, field

from . import rules
from .rules import ApiError

log = logging.getLogger(__name__)

ORDERS, BRANDS, CAMPAIGNS, MESSAGES, VETTINGS = "orders", "brands", "campaigns", "messages", "vettings"
KINDS = (ORDERS, BRANDS, CAMPAIGNS, MESSAGES, VETTINGS)
ID_ALPHABET = string.ascii_uppercase + string.digits


@dataclass
class Record:
    """One object at the carrier: `fields` always show; `pending` shows before `due_at`, `outcome` from then on."""

    kind: str
    object_id: str
    reference: str
    due_at: float  # on the time.monotonic() clock
    fields: dict
    pending: dict
    outcome: dict
    callback_url: str
    callback_type: str
    # Campaigns only: each operator's decision (rules.carrier_outcomes), visible from `carriers_due_at` once the
    # registry accepted the campaign; later events (a suspension, a resumption, an expiry) override what was decided.
    carrier_outcomes: dict = field(default_factory=dict)
    carriers_due_at: float = 0.0
    carrier_events: dict = field(default_factory=dict)  # carrier code -> {"status", "reason"}
    registry_event: dict = field(default_factory=dict)  # {"status": "SUSPENDED" | "EXPIRED", "reason"}
    private: dict = field(default_factory=dict)  # what the carrier keeps but does not show (a brand's legal name)

    def is_done(self, now: float) -> bool:
        return now >= self.due_at

    def view(self, now: float) -> dict:
        """The object as the API shows it at `now` (a copy: changing it does not change the record)."""
        shown = {**self.fields, **(self.outcome if self.is_done(now) else self.pending)}
        if self.kind == CAMPAIGNS:
            accepted = shown["status"] == "ACTIVE"
            shown.update(self.registry_event)
            shown["carriers"] = self._carriers(now) if accepted else []
        return copy.deepcopy(shown)

    def _carriers(self, now: float) -> list[dict]:
        """Each operator's status of a campaign the registry accepted: pending until `carriers_due_at`, then its
        decision, unless an event changed it since."""
        shown, pending = [], {"status": "PENDING", "reason": ""}
        for code in rules.CARRIERS:
            decided = self.carrier_outcomes[code] if now >= self.carriers_due_at else pending
            shown.append({"carrier": code, **decided, **self.carrier_events.get(code, {})})
        return shown

    def is_accepted(self, now: float) -> bool:
        """A campaign the registry accepted (whatever happened to it since)."""
        return self.is_done(now) and self.outcome.get("status") == "ACTIVE"

    def accepted_view(self) -> dict:
        """The answer to the submission: accepted and pending, whatever the delay (the carrier decides later)."""
        accepted = {**self.fields, **self.pending}
        if self.kind == CAMPAIGNS:
            accepted["carriers"] = []
        return copy.deepcopy(accepted)


@dataclass
class Membership:
    """One number in one campaign: `pending` ("PENDING_ASSIGNMENT" or "PENDING_UNASSIGNMENT") until `due_at`, then
    `outcome` (status and reason)."""

    pending: str
    outcome: dict
    due_at: float

    def view(self, e164: str, now: float) -> dict:
        if now >= self.due_at:
            return {"e164": e164, **self.outcome}
        return {"e164": e164, "status": self.pending, "reason": ""}

    @property
    def holds(self) -> bool:
        """The campaign holds the number (or is about to): not failed, not removed."""
        return self.pending == "PENDING_ASSIGNMENT" and self.outcome["status"] == "ASSIGNED"


class Registry:
    """Every object the carrier holds. Not thread-safe by itself: the simulator calls it with its lock held.

    Actions take `(object_id, payload)`, where payload is the JSON body of a POST or the query of a GET, and return
    the JSON answer, or raise ApiError.
    """

    def __init__(self, delay_seconds: float, carrier_delay_seconds: float = 0.0):
        self.delay_seconds = delay_seconds
        self.carrier_delay_seconds = carrier_delay_seconds
        self.assignment_failures = True  # Faults.assignment_failures
        self.writes_created = Counter({kind: 0 for kind in KINDS})
        self.campaigns_resubmitted = 0  # corrected campaigns sent again under their id (not new campaigns)
        self.duplicate_submissions = 0
        self._records: dict[str, dict[str, Record]] = {kind: {} for kind in KINDS}
        self._by_reference: dict[str, dict[str, list[str]]] = {kind: {} for kind in KINDS}
        # (when, record): a callback to send once `when` has come (a decision, an operator's decision, an event).
        self._awaiting_callback: list[tuple[float, Record]] = []
        # campaign id -> e164 -> Membership: numbers joining and leaving campaigns, decided per number.
        self._memberships: dict[str, dict[str, Membership]] = {}

    # --- callbacks ----------------------------------------------------------------------------------------------

    def take_due_callbacks(self, now: float) -> list[Record]:
        """The objects whose callback is due, each returned once per time it was due."""
        due = [record for when, record in self._awaiting_callback if when <= now]
        self._awaiting_callback = [(when, record) for when, record in self._awaiting_callback if when > now]
        return due

    def next_callback_due(self) -> float | None:
        return min((when for when, _record in self._awaiting_callback), default=None)

    def _call_back(self, record: Record, when: float) -> None:
        if record.callback_url:
            self._awaiting_callback.append((when, record))

    def decide_now(self, now: float) -> int:
        """Make every object still pending (and every operator's pending decision) show its outcome from `now` on;
        returns how many objects were pending. Their callbacks become due now."""
        undecided = [
            record for records in self._records.values() for record in records.values() if not record.is_done(now)
        ]
        for record in undecided:
            record.due_at = now
        for record in self._records[CAMPAIGNS].values():
            record.carriers_due_at = min(record.carriers_due_at, now)
        self._awaiting_callback = [(min(when, now), record) for when, record in self._awaiting_callback]
        waiting = [m for members in self._memberships.values() for m in members.values() if now < m.due_at]
        for membership in waiting:
            membership.due_at = now
        return len(undecided) + len(waiting)

    # --- number orders ------------------------------------------------------------------------------------------

    def create_number_order(self, _, body: dict) -> dict:
        reference, callback_url = rules.reference(body), rules.callback_url(body)
        numbers = rules.numbers(body.get("numbers"))
        return self._create(
            ORDERS,
            "O",
            9,
            reference,
            callback_url,
            "number_order.completed",
            id_field="order_id",
            fields={},
            pending={"status": "pending", "numbers": [{"e164": n, "status": "pending", "reason": ""} for n in numbers]},
            outcome={"status": "completed", "numbers": [rules.number_outcome(n) for n in numbers]},
        )

    def get_number_order(self, order_id: str, _) -> dict:
        return self._get(ORDERS, order_id, "number order")

    def list_number_orders(self, _, query: dict) -> dict:
        return self._list(ORDERS, query)

    # --- brands -------------------------------------------------------------------------------------------------

    def create_brand(self, _, body: dict) -> dict:
        reference, callback_url = rules.reference(body), rules.callback_url(body)
        brand = rules.brand(body.get("brand"))
        return self._create(
            BRANDS,
            "B",
            6,
            reference,
            callback_url,
            "brand.updated",
            id_field="brand_id",
            fields={},
            pending={"status": "PENDING", "identity_status": "", "reason": ""},
            outcome=rules.brand_outcome(brand),
            private={"legal_name": brand["legal_name"]},
        )

    def get_brand(self, brand_id: str, _) -> dict:
        return self._get(BRANDS, brand_id, "brand")

    def list_brands(self, _, query: dict) -> dict:
        return self._list(BRANDS, query)

    # --- campaigns ----------------------------------------------------------------------------------------------

    def create_campaign(self, _, body: dict) -> dict:
        """Refused unless the brand exists, is APPROVED and its identity is not UNVERIFIED (as TCR does)."""
        reference, callback_url = rules.reference(body), rules.callback_url(body)
        brand_id = body.get("brand_id")
        if not isinstance(brand_id, str) or not brand_id:
            raise ApiError(400, "brand_id is required: the registry id of an approved brand.")
        campaign = rules.campaign(body.get("campaign"))
        if brand_id not in self._records[BRANDS]:
            raise ApiError(400, f"Unknown brand {brand_id!r}: register the brand first.")
        brand = self._records[BRANDS][brand_id].view(time.monotonic())
        if brand["status"] != "APPROVED":
            raise ApiError(400, f"Brand {brand_id} is {brand['status']}: a campaign needs an APPROVED brand.")
        if brand["identity_status"] == "UNVERIFIED":
            raise ApiError(
                400,
                f"Brand {brand_id} has identity status UNVERIFIED: a campaign under an unverified brand is refused.",
            )
        return self._create(
            CAMPAIGNS,
            "C",
            6,
            reference,
            callback_url,
            "campaign.updated",
            id_field="campaign_id",
            fields={"brand_id": brand_id, "use_case": campaign["use_case"], "numbers": []},
            pending={"status": "PENDING", "reason": ""},
            outcome=rules.campaign_outcome(campaign),
            carrier_outcomes=rules.carrier_outcomes(campaign),
        )

    def resubmit_campaign(self, campaign_id: str, body: dict) -> dict:
        """A corrected campaign sent again under the id it has (TCR's resubmission): decided again by the rules,
        its use case unchanged (a different use case is a new campaign), its numbers kept; a suspension or expiry
        is cleared by a new decision. Answers the campaign, pending again, under the new reference."""
        record = self._find(CAMPAIGNS, campaign_id, "campaign")
        reference, callback_url = rules.reference(body), rules.callback_url(body)
        campaign = rules.campaign(body.get("campaign"))
        if campaign["use_case"] != record.fields["use_case"]:
            raise ApiError(
                400,
                f"Campaign {campaign_id} is registered as {record.fields['use_case']}: its use case cannot change.",
            )
        now = time.monotonic()
        record.reference = reference
        record.fields = {**record.fields, "reference": reference}
        record.due_at = now + self.delay_seconds
        record.pending = {"status": "PENDING", "reason": ""}
        record.outcome = rules.campaign_outcome(campaign)
        record.carrier_outcomes = rules.carrier_outcomes(campaign)
        record.carriers_due_at = now + self.delay_seconds + self.carrier_delay_seconds
        record.carrier_events, record.registry_event = {}, {}
        record.callback_url = callback_url or record.callback_url
        self._by_reference[CAMPAIGNS].setdefault(reference, []).append(campaign_id)
        self.campaigns_resubmitted += 1
        self._call_back(record, record.due_at)
        if record.outcome.get("status") == "ACTIVE" and record.carriers_due_at > record.due_at:
            self._call_back(record, record.carriers_due_at)
        return record.accepted_view()

    def get_campaign(self, campaign_id: str, _) -> dict:
        return self._get(CAMPAIGNS, campaign_id, "campaign")

    def list_campaigns(self, _, query: dict) -> dict:
        return self._list(CAMPAIGNS, query)

    def assign_campaign_numbers(self, campaign_id: str, body: dict) -> dict:
        """Add numbers to an ACTIVE campaign (409 otherwise). Answers every number the campaign now holds
        (`numbers`, as before), and each asked number's own status (`results`): pending for `delay_seconds`, then
        ASSIGNED, or FAILED_ASSIGNMENT with a reason by rule. A number pending or assigned stays as it is; a failed
        or unassigned one is tried again."""
        record = self._find(CAMPAIGNS, campaign_id, "campaign")
        numbers = rules.numbers(body.get("numbers"))
        now = time.monotonic()
        status = record.view(now)["status"]
        if status != "ACTIVE":
            raise ApiError(409, f"Campaign {campaign_id} is {status}: numbers can only join an ACTIVE campaign.")
        members = self._memberships.setdefault(campaign_id, {})
        for e164 in numbers:
            current = members.get(e164)
            if current is not None and current.view(e164, now)["status"] in ("PENDING_ASSIGNMENT", "ASSIGNED"):
                continue
            members[e164] = Membership(
                "PENDING_ASSIGNMENT",
                rules.assignment_outcome(e164) if self.assignment_failures else {"status": "ASSIGNED", "reason": ""},
                now + self.delay_seconds,
            )
        assigned = record.fields["numbers"]
        assigned[:] = sorted(e164 for e164, membership in members.items() if membership.holds)
        return {
            "campaign_id": campaign_id,
            "numbers": list(assigned),
            "results": [members[e164].view(e164, now) for e164 in numbers],
        }

    def remove_campaign_numbers(self, campaign_id: str, body: dict) -> dict:
        """Take numbers out of a campaign, whatever its status: PENDING_UNASSIGNMENT for `delay_seconds`, then
        UNASSIGNED. A number the campaign does not hold (never asked, failed, removed) answers UNASSIGNED at once."""
        record = self._find(CAMPAIGNS, campaign_id, "campaign")
        numbers = rules.numbers(body.get("numbers"))
        now = time.monotonic()
        members = self._memberships.setdefault(campaign_id, {})
        for e164 in numbers:
            current = members.get(e164)
            shown = current.view(e164, now)["status"] if current is not None else "UNASSIGNED"
            if shown in ("PENDING_UNASSIGNMENT", "UNASSIGNED"):
                continue
            due = now if shown == "FAILED_ASSIGNMENT" else now + self.delay_seconds
            members[e164] = Membership("PENDING_UNASSIGNMENT", {"status": "UNASSIGNED", "reason": ""}, due)
        record.fields["numbers"][:] = sorted(e164 for e164, membership in members.items() if membership.holds)
        return {
            "campaign_id": campaign_id,
            "results": [
                members[e164].view(e164, now)
                if e164 in members
                else {"e164": e164, "status": "UNASSIGNED", "reason": ""}
                for e164 in numbers
            ],
        }

    def list_campaign_numbers(self, campaign_id: str, _) -> dict:
        """Every number ever asked for in the campaign, with its status now, in number order."""
        self._find(CAMPAIGNS, campaign_id, "campaign")
        now = time.monotonic()
        members = self._memberships.get(campaign_id, {})
        return {"campaign_id": campaign_id, "results": [members[e164].view(e164, now) for e164 in sorted(members)]}

    def campaign_event(self, campaign_id: str, event: str, body: dict) -> dict:
        """An operator or the registry acts on an accepted campaign (the simulator's control endpoint):

        - `suspend` with `carrier`: that operator suspends it (spam complaints, dormancy...); without: the registry
          suspends it (TCR_SUSPENDED). `reason` is required.
        - `resume` with or without `carrier`: lifts that suspension (a campaign not suspended there stays as it is).
        - `expire`: the registry expires it (not renewed); `reason` optional.

        Answers the campaign as it now is and calls the portal back (when the campaign has a callback URL). A
        repeated event changes nothing but is called back again, as a real carrier's duplicate notification is.
        """
        record = self._find(CAMPAIGNS, campaign_id, "campaign")
        now = time.monotonic()
        if not record.is_accepted(now):
            raise ApiError(409, f"Campaign {campaign_id} is {record.view(now)['status']}: it was never accepted.")
        carrier = rules.carrier_code(body.get("carrier"))
        if record.registry_event.get("status") == "EXPIRED":
            raise ApiError(409, f"Campaign {campaign_id} has expired: nothing more happens to it.")
        if event == "expire":
            reason = rules.event_reason(body.get("reason"), default=rules.CAMPAIGN_EXPIRED)
            record.registry_event = {"status": "EXPIRED", "reason": reason}
        elif event == "suspend":
            reason = rules.event_reason(body.get("reason"))
            if carrier:
                current = next(c for c in record._carriers(now) if c["carrier"] == carrier)
                if current["status"] == "REJECTED":
                    raise ApiError(409, f"{carrier} rejected campaign {campaign_id}: it cannot suspend it.")
                record.carrier_events[carrier] = {"status": "SUSPENDED", "reason": reason}
            else:
                record.registry_event = {"status": "SUSPENDED", "reason": reason}
        elif event == "resume":
            if carrier:
                if record.carrier_events.get(carrier, {}).get("status") == "SUSPENDED":
                    record.carrier_events[carrier] = {"status": "ACCEPTED", "reason": ""}
            elif record.registry_event.get("status") == "SUSPENDED":
                record.registry_event = {}
        else:
            raise ApiError(404, f"No such campaign event: {event}.")
        self._call_back(record, now)
        return record.view(now)

    # --- secondary vetting --------------------------------------------------------------------------------------

    def create_vetting(self, brand_id: str, body: dict) -> dict:
        """Ask for secondary (external) vetting of an APPROVED brand; a score 0-100 follows (billable, like a
        registration: a new reference vets again)."""
        reference, callback_url = rules.reference(body), rules.callback_url(body)
        brand = self._find(BRANDS, brand_id, "brand")
        status = brand.view(time.monotonic())["status"]
        if status != "APPROVED":
            raise ApiError(409, f"Brand {brand_id} is {status}: only an APPROVED brand can be vetted.")
        return self._create(
            VETTINGS,
            "V",
            6,
            reference,
            callback_url,
            "vetting.updated",
            id_field="vetting_id",
            fields={"brand_id": brand_id},
            pending={"status": "PENDING", "score": None, "reason": ""},
            outcome=rules.vetting_outcome(brand.private["legal_name"]),
        )

    def get_vetting(self, vetting_id: str, _) -> dict:
        return self._get(VETTINGS, vetting_id, "vetting")

    def list_vettings(self, _, query: dict) -> dict:
        return self._list(VETTINGS, query)

    # --- messages -----------------------------------------------------------------------------------------------

    def create_message(self, _, body: dict) -> dict:
        reference, callback_url = rules.reference(body), rules.callback_url(body)
        sender = rules.number(body.get("from"), "from")
        recipient = rules.number(body.get("to"), "to")
        rules.message_text(body.get("body"))
        return self._create(
            MESSAGES,
            "M",
            12,
            reference,
            callback_url,
            "message.updated",
            id_field="message_id",
            fields={"from": sender, "to": recipient},
            pending={"status": "queued", "reason": ""},
            outcome=rules.message_outcome(recipient),
        )

    def get_message(self, message_id: str, _) -> dict:
        return self._get(MESSAGES, message_id, "message")

    # --- shared -------------------------------------------------------------------------------------------------

    def _create(
        self,
        kind: str,
        prefix: str,
        id_length: int,
        reference: str,
        callback_url: str,
        callback_type: str,
        *,
        id_field: str,
        fields: dict,
        pending: dict,
        outcome: dict,
        carrier_outcomes: dict | None = None,
        private: dict | None = None,
    ) -> dict:
        """Store a new object (called only once the request is valid); answers it as accepted, still pending."""
        object_id = self._new_id(kind, prefix, id_length)
        now = time.monotonic()
        record = Record(
            kind=kind,
            object_id=object_id,
            reference=reference,
            due_at=now + self.delay_seconds,
            fields={id_field: object_id, "reference": reference, **fields},
            pending=pending,
            outcome=outcome,
            callback_url=callback_url,
            callback_type=callback_type,
            carrier_outcomes=carrier_outcomes or {},
            carriers_due_at=now + self.delay_seconds + self.carrier_delay_seconds,
            private=private or {},
        )
        self._records[kind][object_id] = record
        same_reference = self._by_reference[kind].setdefault(reference, [])
        if same_reference:
            self.duplicate_submissions += 1
            log.warning(
                "Carrier simulator: duplicate %s submission, reference %r now has %d objects",
                kind,
                reference,
                len(same_reference) + 1,
            )
        same_reference.append(object_id)
        self.writes_created[kind] += 1
        self._call_back(record, record.due_at)
        if kind == CAMPAIGNS and outcome.get("status") == "ACTIVE" and record.carriers_due_at > record.due_at:
            self._call_back(record, record.carriers_due_at)  # the operators decide after the registry
        return record.accepted_view()

    def _new_id(self, kind: str, prefix: str, length: int) -> str:
        while True:
            object_id = prefix + "".join(secrets.choice(ID_ALPHABET) for _ in range(length))
            if object_id not in self._records[kind]:
                return object_id

    def _find(self, kind: str, object_id: str, name: str) -> Record:
        record = self._records[kind].get(object_id)
        if record is None:
            raise ApiError(404, f"Unknown {name} {object_id!r}.")
        return record

    def _get(self, kind: str, object_id: str, name: str) -> dict:
        return self._find(kind, object_id, name).view(time.monotonic())

    def _list(self, kind: str, query: dict) -> dict:
        """`{"results": [...]}`: every object created with `?reference=`, oldest first."""
        reference = query.get("reference", [""])[0]
        if not reference:
            raise ApiError(400, "Give the reference to look up: ?reference=...")
        now = time.monotonic()
        return {
            "results": [
                self._records[kind][object_id].view(now) for object_id in self._by_reference[kind].get(reference, [])
            ]
        }
