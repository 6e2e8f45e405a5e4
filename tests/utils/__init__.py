"""Helpers the tests share, as plain functions and classes (fixtures live in ``conftest.py`` files):

- ``world``: a small known region built through the real API (``build_world``, ``square``, ``auth``)
- ``api``: assertions on answers (problem details, rule violations), ledger size, listing every manifest
- ``databases``: scratch PostgreSQL databases and empty migrated databases of either kind
- ``brokers``: a real Mosquitto on a free port, a bridge process, publishers
- ``bridge``: signed telemetry payloads and topics for the bridge's parser
- ``detection``: tracks, places and trips for the pure detection rules
- ``monitoring``: trips driven through the store and the live detector (``make_env``, ``Drive``)
- ``flows``: the known data set the flow, balance and export totals are computed by hand from
- ``console``: that data set with a trip to show, for the console's browser test
"""
