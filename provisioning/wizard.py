"""The Authorize wizard's selection: which numbers the administrator has ticked, kept in the session.

It survives paging, searching, reloads and the browser's back button, and belongs to one location: choosing
another location starts a new selection. The summary page gives each selection a submission token, so submitting
the same summary twice finds the order already placed.
"""

import uuid

SESSION_KEY = "authorize_wizard"


class Selection:
    def __init__(self, session):
        self._session = session
        data = session.get(SESSION_KEY) or {}
        self.location_id: int | None = data.get("location_id")
        self.ids: set[int] = set(data.get("ids", []))
        self.token: str | None = data.get("token")

    def for_location(self, location_id: int) -> "Selection":
        """Switch to `location_id`; a different location starts with nothing selected."""
        if self.location_id != location_id:
            self.location_id, self.ids, self.token = location_id, set(), None
            self.save()
        return self

    def add(self, ids) -> None:
        self.ids.update(ids)
        self.token = None  # a changed selection needs a new summary
        self.save()

    def remove(self, ids) -> None:
        self.ids.difference_update(ids)
        self.token = None
        self.save()

    def clear(self) -> None:
        self.ids, self.token = set(), None
        self.save()

    def submission_token(self) -> str:
        """The token of the current summary (made once per selection)."""
        if self.token is None:
            self.token = str(uuid.uuid4())
            self.save()
        return self.token

    def forget(self) -> None:
        self._session.pop(SESSION_KEY, None)
        self.location_id, self.ids, self.token = None, set(), None

    def save(self) -> None:
        self._session[SESSION_KEY] = {"location_id": self.location_id, "ids": sorted(self.ids), "token": self.token}

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, number_id) -> bool:
        return number_id in self.ids
