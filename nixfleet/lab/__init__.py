"""The lab: real hosts on one machine (network namespace + systemd-nspawn on an overlay of ``/``)."""

from __future__ import annotations
