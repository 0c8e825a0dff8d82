"""Bergpfad customer-support bot: settings, storage, handoff, inbox, launcher and tooling."""

__version__ = "0.1.0"
