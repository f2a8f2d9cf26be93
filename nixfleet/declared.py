"""What the flake declares for a host, as the areas need it.

``EXPRESSION`` is ``declared.nix``: one Nix function of a ``nixosConfigurations`` entry, built
from every area's ``nix`` (:func:`nixfleet.areas.expression`), evaluated for all hosts at once.
"""

from __future__ import annotations

from nixfleet import areas
from nixfleet.area import Declared

EXPRESSION = areas.expression()

__all__ = ["EXPRESSION", "Declared"]
