from .authorize import authorize, authorize_selection, authorize_submit, authorize_summary
from .callbacks import number_order_callback
from .locations import calling_pstn, deauthorise, location_detail, location_list, retry_assignments
from .orders import order_detail, order_list

__all__ = [
    "authorize",
    "authorize_selection",
    "authorize_submit",
    "authorize_summary",
    "calling_pstn",
    "deauthorise",
    "location_detail",
    "location_list",
    "number_order_callback",
    "order_detail",
    "order_list",
    "retry_assignments",
]
