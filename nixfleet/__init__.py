"""nixfleet: deploy a NixOS fleet from one flake with pyinfra, then prove its data is safe."""

from __future__ import annotations

__version__ = "0.1.0"
