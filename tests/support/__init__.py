"""Helpers shared by sloguard's tests: fakes, builders, the end-to-end setup. No tests here."""
