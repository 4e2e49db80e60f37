"""What texting actions refuse, in the user's words (one family with every other refusal: ActionRefused)."""

from portal.transitions import ActionRefused


class TextingError(ActionRefused):
    """The change cannot be made as asked; the message says why, in the user's words."""


class UnknownNumber(TextingError):
    """An inbound text for a number that is not one of ours."""
