"""pyinfra facts: what a host runs and holds. Each reads state and never changes it."""
