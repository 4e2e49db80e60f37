"""A fingerprint of everything the portal stores, per organisation, to prove a request changed nothing.

Every model of our apps is fingerprinted (row count + a hash of every column of every row), split by the
organisation each row belongs to, found by following foreign keys (a line → its order → its organisation). Rows of
no organisation (partners, support staff, purge runs, failed sign-ins) are "global".
"""

import hashlib
from collections import defaultdict

from django.apps import apps
from django.db import models

from portal.models import Organisation

APPS = ("portal", "provisioning", "compliance", "texting")


def _organisation_path(model, depth=0) -> str | None:
    """The ORM path from `model` to its organisation ("organisation", "order__organisation"), if it has one."""
    if model is Organisation:
        return "pk"
    if depth > 3:
        return None
    fields = [f for f in model._meta.concrete_fields if isinstance(f, models.ForeignKey)]
    for f in fields:
        if f.related_model is Organisation:
            return f.name
    for f in fields:
        if f.related_model is not model and f.related_model._meta.app_label in APPS:
            deeper = _organisation_path(f.related_model, depth + 1)
            if deeper is not None:
                return f.name if deeper == "pk" else f"{f.name}__{deeper}"
    return None


def _models():
    return [m for label in APPS for m in apps.get_app_config(label).get_models()]


def fingerprint(org_names: dict[int, str]) -> dict[tuple[str, str], tuple[int, str]]:
    """{(model label, scope): (row count, hash)}; scope is the name in `org_names` ({org id: name}) or "global"."""
    result: dict[tuple[str, str], tuple[int, str]] = {}
    for model in _models():
        path = _organisation_path(model)
        columns = [f.attname for f in model._meta.concrete_fields]
        rows = model._base_manager.order_by("pk")
        if path:
            values = rows.annotate(_scope_org=models.F(path)).values_list("_scope_org", *columns)
        else:
            values = ((None, *row) for row in rows.values_list(*columns))
        digests: dict[str, list] = defaultdict(lambda: [0, hashlib.sha256()])
        for org_id, *row in values:
            entry = digests[org_names.get(org_id, "global")]
            entry[0] += 1
            entry[1].update(repr(row).encode())
        for scope, (count, digest) in digests.items():
            result[(model._meta.label, scope)] = (count, digest.hexdigest())
    return result


def differences(before, after, scopes=None) -> list[str]:
    """What changed between two fingerprints, limited to `scopes` (all when None), in words."""
    changed = []
    for key in sorted(set(before) | set(after)):
        if scopes is not None and key[1] not in scopes:
            continue
        if before.get(key) != after.get(key):
            was, now = before.get(key, (0, "")), after.get(key, (0, ""))
            what = f"{now[0] - was[0]:+d} rows" if now[0] != was[0] else "rows changed"
            changed.append(f"{key[0]} of {key[1]}: {what}")
    return changed
