"""Importers for the public expert-trajectory formats, detected by content.

Detection runs the ``detect`` of each format in ``FORMATS`` order on the decoded record and takes the
first that claims it; the order puts the most specific signatures first.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from srl_swe.formats import (
    mini_chat,
    mini_swe_agent,
    nebius,
    openai_chat,
    openhands,
    openhands_resolver,
    openhands_trajectory,
    r2e_gym,
    s1k,
    swe_agent,
    swe_gym,
    swe_smith,
)
from srl_swe.formats.common import BadRecord

FORMATS: dict[str, ModuleType] = {
    module.NAME: module
    for module in (swe_agent, mini_swe_agent, openhands, openhands_resolver, openhands_trajectory, r2e_gym, swe_smith,
                   nebius, s1k, mini_chat, swe_gym, openai_chat)
}


def detect_format(record: dict[str, Any]) -> str | None:
    """The name of the first format whose signature matches the record, or None."""
    for name, module in FORMATS.items():
        if module.detect(record):
            return name
    return None


def importer(record: dict[str, Any], forced: str = "auto") -> ModuleType:
    """The importer for a record: the forced one, or the detected one; BadRecord when none fits."""
    if forced != "auto":
        module = FORMATS[forced]
        if not module.detect(record):
            raise BadRecord("wrong format", f"record does not look like {forced} (keys: {_keys(record)})")
        return module
    name = detect_format(record)
    if name is None:
        raise BadRecord("unknown format", f"no importer recognises a record with keys {_keys(record)}")
    return FORMATS[name]


def _keys(record: dict[str, Any]) -> str:
    keys = sorted(record)
    return ", ".join(keys[:8]) + (", …" if len(keys) > 8 else "")
