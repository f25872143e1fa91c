"""A stand-in for Plugsurfing (Drive API, EMP API, OIOI) for local runs, e2e tests and benchmarks.

Independent of the product's `backbone` package on purpose: it reads the partner spec on its own,
so it can catch our misreadings instead of sharing them.
"""

from simulator.clock import Clock, ManualClock, SystemClock
from simulator.core import DEFAULT_API_KEY, DEFAULT_OIOI_KEY, SimulatorCore
from simulator.server import PlugsurfingSimulator

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_OIOI_KEY",
    "Clock",
    "ManualClock",
    "PlugsurfingSimulator",
    "SimulatorCore",
    "SystemClock",
]
