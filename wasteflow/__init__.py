"""wasteflow: industrial solid waste from generator to receiver, tracked and reconciled."""

__version__ = "0.1.0"
