"""Simulators: a realistic region, a fleet of trucks and weighbridges publishing over MQTT,
a library of scenarios with their ground truth, and the demo that runs them all.

- :mod:`simulators.region`    seed data: a city-sized area around Baotou (region 1502)
- :mod:`simulators.routes`    a local metric frame and a road network with bends (Dijkstra)
- :mod:`simulators.truth`     what a scenario declares: codes it must raise, where and when
- :mod:`simulators.scenarios` the scenario library: a table of scripts (clean, dumping, skimming...),
                              each scenario's declaration next to the functions that act it out
- :mod:`simulators.motion`    road vertices, a truck's timed trajectory and its load profile
- :mod:`simulators.truck`     one truck's day, trip after trip, and the hooks a script may change
- :mod:`simulators.fleet`     the day's plan: every truck's movements, fixes, load readings,
                              weigh tickets and the manifests' signatures, as timed events
- :mod:`simulators.runner`    plays a plan against an API and a broker, in accelerated time
- :mod:`simulators.demo`      ``wasteflow demo``: everything in one process, then the report
- :mod:`simulators.report`    the regulator's HTML report and the terminal summary
- :mod:`simulators.maps`      SVG map pictures of trips (no tiles, no network)

Everything is deterministic for a given seed (see tests/simulators).
"""
