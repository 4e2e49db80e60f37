"""A local carrier: The Campaign Registry and the operators' number authorisation and messaging API, in memory.

Development (`manage.py run_carrier_sim`) and the tests (fixture `carrier_sim`) reach it over real HTTP through
the production client. It behaves like the real outside party where the portal's correctness is at stake:

- Work completes asynchronously: an object answers *pending* until `delay_seconds` after its creation, then its
  final status; a background thread POSTs a signed callback when one was asked for.
- Writes honour `Idempotency-Key` (a repeat returns the first answer and creates nothing), but the registry itself
  is not idempotent: a new key with a reference already used creates a second object, counted in
  `duplicate_submissions`, which stays 0 for a portal that reconciles by reference before retrying.
- It records what it received for each reference (objects created, POSTs answered from the idempotency keys,
  lookups by reference) and counts `resubmissions`, POSTs for a reference it already held: a blind resend shows
  there even when the idempotency keys made it harmless. `forget_idempotency_keys` makes it apply every POST as new,
  as a carrier that lost its keys would, so a blind resend becomes a second object.
- Faults on demand: a share of requests fail with 503 before doing anything (`error_rate`), or do the work and then
  answer too late (`timeout_rate`, `timeout_seconds`): the case where the client cannot know what happened.

HTTP API (JSON, `Authorization: Bearer <key>`, `Idempotency-Key` on every POST):
  POST /v1/number-orders, GET /v1/number-orders/{id}, GET /v1/number-orders?reference=R
  POST /v1/brands, GET /v1/brands/{id}, GET /v1/brands?reference=R
  POST /v1/campaigns, GET /v1/campaigns/{id}, GET /v1/campaigns?reference=R, POST /v1/campaigns/{id}/numbers
  POST /v1/brands/{id}/vettings, GET /v1/vettings/{id}, GET /v1/vettings?reference=R  (secondary vetting)
  GET /v1/campaigns/{id}/numbers, POST /v1/campaigns/{id}/numbers/remove (per-number status)
  POST /v1/messages, GET /v1/messages/{id}
  A campaign answers `carriers`: each operator's status (PENDING, ACCEPTED, REJECTED, SUSPENDED, with a reason).
  Loopback only, no key: GET|POST /control/faults, GET /control/stats, POST /control/decide,
  POST /control/reset, POST /control/campaigns/{id}/suspend {"carrier"?, "reason"}, .../resume {"carrier"?},
  .../expire {"reason"?}: operators' and the registry's events, called back to the portal like decisions
Outcome rules (numbers ending 0000, numbers ending 9999 in campaigns, "Rejected" / "Unverified" names...) are in
`rules`.
"""

from .server import CarrierSimulator, Faults

__all__ = ["CarrierSimulator", "Faults"]
