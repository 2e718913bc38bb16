"""Every label shown in figures and tables, defined once, in English and Dutch."""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "smoker": "Current smoking",
        "psych_distress": "Psychological distress",
        "walking": "Leisure walking \u2265 30 min/week",
        "prevalence": "Prevalence (%)",
        "wave": "Survey wave (year)",
        "treated_wijk": "Intervention wijk",
        "control": "Control wijken (same city)",
        "start": "Start",
        "change": "Change post \u2212 pre (percentage points)",
        "suppressed": "Suppressed (n < {n})",
        "treated_outline": "Intervention wijk",
        "twfe": "Two-way fixed effects (cells)",
        "naive": "Naive post-period difference",
    },
    "nl": {
        "smoker": "Rookt",
        "psych_distress": "Psychische klachten",
        "walking": "Wandelen in vrije tijd \u2265 30 min/week",
        "prevalence": "Prevalentie (%)",
        "wave": "Meting (jaar)",
        "treated_wijk": "Interventiewijk",
        "control": "Controlewijken (zelfde gemeente)",
        "start": "Start",
        "change": "Verandering na \u2212 voor (procentpunten)",
        "suppressed": "Onderdrukt (n < {n})",
        "treated_outline": "Interventiewijk",
        "twfe": "Two-way fixed effects (cellen)",
        "naive": "Naief verschil na de start",
    },
}


def label(key: str, language: str = "en", **fmt: object) -> str:
    """The label for key in language; unknown keys come back unchanged so nothing is lost."""
    text = LABELS.get(language, LABELS["en"]).get(key, key)
    return text.format(**fmt) if fmt else text
