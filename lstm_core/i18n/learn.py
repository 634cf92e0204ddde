"""Strings of the learn page."""

EN: dict[str, str] = {}

ZH: dict[str, str] = {}
