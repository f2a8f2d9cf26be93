"""Settings for the user's fleet (every host of inventory/home.py is in the group ``home``)."""

# The user's configuration repo; run pyinfra from this project, or give an absolute path.
flake = "."
