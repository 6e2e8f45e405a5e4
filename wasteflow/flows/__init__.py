"""Tonnage flows and balances for regulators: generator → receiver, capacity, declarations."""
