"""What users, administrators and the carrier do with business texts. Every state change goes through here.

By concern: `sending` (a user's text, the carrier's answers about it), `receiving` (inbound texts, STOP / START /
HELP), `administration` (the Business Texting switch, API tokens, audited), `opt_outs` (the opt-out registry changed by
hand: add, remove, import), `suspensions` (Cisco PSTN support's abuse controls); `refusals` are what they refuse.
`from texting.actions import X` and `actions.X` keep working for all of them.
"""

from .administration import (
    authenticate_api_token,
    issue_api_token,
    record_texts_export,
    revoke_api_token,
    set_business_texting,
)
from .opt_outs import (
    ImportRefused,
    ImportResult,
    add_opt_out,
    check_do_not_text_file,
    import_do_not_text_list,
    record_opt_out_export,
    remove_opt_out,
)
from .receiving import HELP_KEYWORDS, OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, receive_text
from .refusals import TextingError, UnknownNumber
from .sending import (
    CARRIER_STATUS,
    apply_carrier_status,
    fail_undeliverable,
    hand_to_carrier,
    send_text,
    set_message_status,
)
from .suspensions import active_suspension, lift_suspension, suspend_texting

__all__ = [
    "ImportRefused",
    "ImportResult",
    "active_suspension",
    "add_opt_out",
    "check_do_not_text_file",
    "import_do_not_text_list",
    "lift_suspension",
    "record_opt_out_export",
    "remove_opt_out",
    "suspend_texting",
    "CARRIER_STATUS",
    "HELP_KEYWORDS",
    "OPT_IN_KEYWORDS",
    "OPT_OUT_KEYWORDS",
    "TextingError",
    "UnknownNumber",
    "apply_carrier_status",
    "authenticate_api_token",
    "fail_undeliverable",
    "hand_to_carrier",
    "record_texts_export",
    "issue_api_token",
    "receive_text",
    "revoke_api_token",
    "send_text",
    "set_business_texting",
    "set_message_status",
]
