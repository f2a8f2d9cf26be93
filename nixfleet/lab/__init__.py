"""The lab: real hosts on one machine (netns + systemd-nspawn on an overlay of ``/``)."""

from __future__ import annotations
