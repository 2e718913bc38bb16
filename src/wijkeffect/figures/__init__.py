"""Figures: one style file, one save helper, per-wijk trends and per-city maps."""
