"""Strings of the gates page."""

EN: dict[str, str] = {}

ZH: dict[str, str] = {}
