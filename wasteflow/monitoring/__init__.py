"""The I/O side of detection: load trips from the store, run the pure rules, record what they find.

:mod:`wasteflow.detection` decides; this package reads, writes, transitions and publishes.
"""
