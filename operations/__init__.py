"""pyinfra operations for a NixOS fleet."""
