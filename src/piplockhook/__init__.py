"""piplockhook: every pip run in an environment takes that environment's lock.

This package is imported by the startup gate only when pip is starting, so
keep this file empty of imports: the `.start` entry (Python 3.15+) imports it
in every process.
"""

__version__ = "0.1.0"
