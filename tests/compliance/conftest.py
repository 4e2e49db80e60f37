"""Fixtures of the compliance tests."""
