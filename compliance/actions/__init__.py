"""What customers, support staff and the carrier do to 10DLC registration cases. Views, tasks, commands and tests
all call these functions; every state change goes through `transition`.

- `cases`: the state machine, opening and cancelling a case, messages and internal notes;
- `registration`: the registration form and support's steps with the registry;
- `carrier`: the carrier's side (tasks and callbacks);
- `support` and `unread`: support's bookkeeping (case owner; the unread mark and the e-mail to support).
- `campaigns`: a campaign's life after registration (operators' statuses, suspensions, expiry) and support's to-dos;
- `vetting`: secondary vetting of a brand.
"""

from .campaigns import TodoRefused, apply_campaign_answer, campaign_contacts, mark_todo_done
from .carrier import (
    apply_brand_status,
    apply_campaign_status,
    callback_url,
    check_with_carrier,
    note_carrier_problem,
    poll_case,
    record_registry_id,
    send_brand_to_carrier,
    send_campaign_to_carrier,
)
from .cases import (
    GUARDS,
    CaseRefused,
    add_internal_note,
    allowed_transitions,
    cancel_case,
    case_kinds_offered,
    complete_case_when_numbers_settle,
    open_case,
    post_message,
    refusal,
    transition,
)
from .registration import (
    assign_numbers,
    complete_case,
    record_brand_decision,
    record_campaign_decision,
    remove_numbers,
    save_registration_draft,
    send_registration_form,
    submit_brand,
    submit_campaign,
    submit_registration_form,
)
from .support import assign_case_owner
from .unread import mark_read_by_support, note_customer_activity
from .vetting import (
    VettingRefused,
    apply_vetting_status,
    poll_vetting,
    request_secondary_vetting,
    send_vetting_to_carrier,
    vetting_cost,
    vetting_refusal,
)

__all__ = [
    "TodoRefused",
    "VettingRefused",
    "apply_campaign_answer",
    "apply_vetting_status",
    "campaign_contacts",
    "mark_todo_done",
    "poll_vetting",
    "request_secondary_vetting",
    "send_vetting_to_carrier",
    "vetting_cost",
    "vetting_refusal",
    "GUARDS",
    "CaseRefused",
    "add_internal_note",
    "allowed_transitions",
    "apply_brand_status",
    "assign_case_owner",
    "apply_campaign_status",
    "assign_numbers",
    "callback_url",
    "cancel_case",
    "case_kinds_offered",
    "complete_case_when_numbers_settle",
    "check_with_carrier",
    "complete_case",
    "mark_read_by_support",
    "note_carrier_problem",
    "note_customer_activity",
    "open_case",
    "poll_case",
    "post_message",
    "record_brand_decision",
    "record_campaign_decision",
    "remove_numbers",
    "record_registry_id",
    "refusal",
    "save_registration_draft",
    "send_brand_to_carrier",
    "send_campaign_to_carrier",
    "send_registration_form",
    "submit_brand",
    "submit_campaign",
    "submit_registration_form",
    "transition",
]
