"""`celery`, with the carrier client's lookup by reference switched off: how the fault scripts' `--self-check` shows
that their duplicate-submission claims fail without reconciliation.

`python scripts/faults/_never_reconcile.py -A portal worker ...` runs Celery as the `celery` command does, except that
`HttpCarrierGateway.find_number_order` always answers "no such order". The portal then never learns that a submission
which went unanswered took effect, and resends the chunk blind. Only the client of the outside party is changed (the
portal's own code runs as shipped, and nothing in the portal imports this module); forked pool processes and the
embedded beat inherit the change.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from celery.__main__ import main  # noqa: E402

from carrier.client import HttpCarrierGateway  # noqa: E402


def never_found(self, reference: str) -> None:
    return None


if __name__ == "__main__":
    HttpCarrierGateway.find_number_order = never_found
    sys.exit(main())
