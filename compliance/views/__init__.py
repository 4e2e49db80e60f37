"""Case pages: the customer's (cases, opening a case, the case and its registration form), the support console
(queue and case), and the carrier's callback."""

from .callbacks import registration_callback
from .customer import (
    case_cancel,
    case_detail,
    case_form,
    case_form_check,
    case_list,
    case_message,
    case_open,
    registration,
)
from .holds import hold_detail, hold_edit, hold_list, hold_new, hold_release
from .lifecycle import support_brand, support_brand_vetting, support_todo_done
from .support import support_action, support_case, support_queue

__all__ = [
    "case_cancel",
    "case_detail",
    "case_form",
    "case_form_check",
    "case_list",
    "case_message",
    "case_open",
    "registration",
    "hold_detail",
    "hold_edit",
    "hold_list",
    "hold_new",
    "hold_release",
    "registration_callback",
    "support_action",
    "support_brand",
    "support_brand_vetting",
    "support_todo_done",
    "support_case",
    "support_queue",
]
