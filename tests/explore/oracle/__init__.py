"""An independent oracle for framemc's explorer: a program DSL, a random generator,
a translator to framemc scenarios, and brute-force SC / RC11 enumerators.

It shares no code with ``framemc.explorer``: the enumerators only use the DSL.
"""

from .axiomatic import GraphSet, rc11_graphs, sc_graphs_axiomatic
from .dsl import Program, outcome_key, parse
from .gen import random_program
from .sc import SCResult, sc_interleavings
from .translate import to_setup

__all__ = ["Program", "parse", "outcome_key", "random_program", "to_setup", "sc_interleavings",
           "SCResult", "rc11_graphs", "sc_graphs_axiomatic", "GraphSet"]
