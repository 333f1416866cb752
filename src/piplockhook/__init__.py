"""piplockhook: every pip run in an environment takes that environment's lock.

This package is imported by the startup gate only when pip is starting, so
keep this file empty of imports: a PEP 829 `.start` entry (Python 3.15+), if
one is ever shipped, would import it in every process.
"""

__version__ = "0.1.0"
