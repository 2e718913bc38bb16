"""wijkeffect: reproducible evaluation of neighbourhood (wijk) health interventions."""

__version__ = "0.1.0"
