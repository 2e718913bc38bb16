"""Respondent roles in a study: a leaf module so panel and models share them without importing each other."""

from __future__ import annotations

#: the two roles a study's respondents take after `panel.attach_treatment`
ROLES = ("treated", "control")
