"""Notifiers: one module per integration, each with its config model, a pure ``build_payload()``
and ``send()``. The shared types are in :mod:`sloguard.notify.base`."""
