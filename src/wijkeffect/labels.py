"""Every label shown in figures and tables, defined once, in English and Dutch."""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "smoker": "Current smoking",
        "psych_distress": "Psychological distress",
        "walking": "Leisure walking \u2265 30 min/week",
        "exercise": "Meets the physical activity guideline",
        "good_health": "Good or very good perceived health",
        "obesity": "Obesity (BMI \u2265 30)",
        "heavy_drinking": "Heavy drinking",
        "loneliness": "Lonely",
        "money_worries": "Difficulty making ends meet",
        "model_based": "Model-based small-area estimates (RIVM/CBS/GGD), not survey means",
        "no_estimate": "No published estimate",
        "change_first_last": "Change from the first to the last wave (percentage points)",
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
        "twfe_individual": "Respondent-level FE (covariates)",
        "staggered": "Callaway-Sant'Anna",
        "event_study": "Event study",
        "segmented": "Segmented trends (URBAN40)",
        "wcr": "wild bootstrap",
        "cohort": "cohort",
        "f_twfe": "TWFE, cells (CR1)",
        "f_twfe_wcr": "TWFE, cells (wild bootstrap)",
        "f_twfe_individual": "TWFE, respondents + covariates",
        "f_staggered": "Callaway-Sant'Anna, overall",
        "f_naive": "Naive post-period difference",
        "f_cohort": "C-S, cohort {g}",
        "reference": "reference",
        "n_note": "Numbers above the axis: respondents per wave",
        "event_time": "Waves since start (k)",
        "effect_pp": "Effect (percentage points)",
        "pretrend_p": "Pre-trend test p",
        "all_cities": "All cities",
        "overview_title": "Two-way fixed-effects estimate per city, 95% CI",
        "robust_ci": "Robust 95% CI",
        "original_ci": "Original 95% CI",
        "breakdown": "Breakdown value",
        "mbar": "Relative magnitude bound M\u0304 (\u00d7 largest pre-period change)",
        "m_smooth": "Smoothness bound M (change in slope per wave)",
        "target_first": "first post-start wave",
        "target_avg": "average over post-start waves",
        "n_per_cell": "{n} respondents per wijk-wave",
        "study_design": "This study's design",
        "n_treated_wijken": "Treated wijken",
        "mde_pp": "Minimum detectable effect (pp)",
        "mde_title": "MDE at 80% power, 5% size",
        "synthetic": "Synthetic control",
        "gap_pp": "Treated \u2212 synthetic (pp)",
        "placebo_p": "Placebo p = {p} ({n} donors)",
        "rmspe_ratio": "Post/pre RMSPE ratio",
        "donors": "Donor wijken",
    },
    "nl": {
        "smoker": "Rookt",
        "psych_distress": "Psychische klachten",
        "walking": "Wandelen in vrije tijd \u2265 30 min/week",
        "exercise": "Voldoet aan de beweegrichtlijn",
        "good_health": "Ervaren gezondheid (zeer) goed",
        "obesity": "Ernstig overgewicht (BMI \u2265 30)",
        "heavy_drinking": "Zware drinker",
        "loneliness": "Eenzaam",
        "money_worries": "Moeite met rondkomen",
        "model_based": "Modelgebaseerde schattingen voor kleine gebieden (RIVM/CBS/GGD), geen surveygemiddelden",
        "no_estimate": "Geen gepubliceerde schatting",
        "change_first_last": "Verandering van de eerste tot de laatste meting (procentpunten)",
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
        "twfe_individual": "FE op respondentniveau (covariaten)",
        "staggered": "Callaway-Sant'Anna",
        "event_study": "Event study",
        "segmented": "Gesegmenteerde trends (URBAN40)",
        "wcr": "wild bootstrap",
        "cohort": "cohort",
        "f_twfe": "TWFE, cellen (CR1)",
        "f_twfe_wcr": "TWFE, cellen (wild bootstrap)",
        "f_twfe_individual": "TWFE, respondenten + covariaten",
        "f_staggered": "Callaway-Sant'Anna, totaal",
        "f_naive": "Naief verschil na de start",
        "f_cohort": "C-S, cohort {g}",
        "reference": "referentie",
        "n_note": "Getallen boven de as: respondenten per meting",
        "event_time": "Metingen sinds de start (k)",
        "effect_pp": "Effect (procentpunten)",
        "pretrend_p": "Toets pre-trend p",
        "all_cities": "Alle gemeenten",
        "overview_title": "Two-way fixed-effects schatting per gemeente, 95%-BI",
        "robust_ci": "Robuust 95%-BI",
        "original_ci": "Oorspronkelijk 95%-BI",
        "breakdown": "Omslagwaarde",
        "mbar": "Grens relatieve grootte M\u0304 (\u00d7 grootste verandering voor de start)",
        "m_smooth": "Gladheidsgrens M (verandering in helling per meting)",
        "target_first": "eerste meting na de start",
        "target_avg": "gemiddelde over metingen na de start",
        "n_per_cell": "{n} respondenten per wijk-meting",
        "study_design": "Opzet van deze studie",
        "n_treated_wijken": "Interventiewijken",
        "mde_pp": "Minimaal detecteerbaar effect (pp)",
        "mde_title": "MDE bij 80% power, 5% onbetrouwbaarheid",
        "synthetic": "Synthetische controle",
        "gap_pp": "Interventie \u2212 synthetisch (pp)",
        "placebo_p": "Placebo p = {p} ({n} donorwijken)",
        "rmspe_ratio": "Verhouding RMSPE na/voor",
        "donors": "Donorwijken",
    },
}


def label(key: str, language: str = "en", **fmt: object) -> str:
    """The label for key in language; unknown keys come back unchanged so nothing is lost."""
    text = LABELS.get(language, LABELS["en"]).get(key, key)
    return text.format(**fmt) if fmt else text


# Regression tables, verdicts and reviewer sections (regtable.py, verdict.py, review.py). Kept in one block
# so that additions by other modules merge without touching the figure labels above.
_TABLE_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "term_effect": "Effect",
        "term_event": "k = {k}",
        "term_diff_slope_change": "\u0394 slope change ({g})",
        "col_twfe": "TWFE, cells",
        "col_twfe_individual": "TWFE, respondents",
        "col_event_study": "Event study",
        "col_staggered": "Callaway-Sant'Anna",
        "col_segmented": "Segmented trends",
        "col_naive": "Naive difference",
        "term_avg_post": "Average of k \u2265 0",
        "row_n_obs": "Observations",
        "row_n_wijken": "Wijken",
        "row_n_clusters": "Clusters",
        "row_fixed_effects": "Fixed effects",
        "row_covariates": "Covariates",
        "row_weights": "Weights",
        "row_inference": "Inference",
        "row_pretrend": "Pre-trend test p",
        "row_p_holm": "p, Holm-adjusted",
        "row_p_bh": "p, BH-adjusted",
        "row_p_wcr": "p, wild bootstrap",
        "row_p_ri": "p, randomisation",
        "fe_wijk_wave": "wijk, wave",
        "fe_none": "none",
        "fe_group_time": "cohort \u00d7 wave",
        "fe_group_trends": "group trends",
        "w_cell_n": "cell n",
        "w_sum_w": "cell \u03a3w",
        "w_survey": "survey",
        "inf_cr1": "CR1 {cluster}",
        "inf_jackknife": "jackknife {cluster}",
        "inf_bootstrap": "bootstrap {cluster}",
        "yes": "yes",
        "note_covariates": "Covariates ({model}): {covariates}.",
        "note_inference": "CR1: cluster-robust by wijk, small-sample factor G/(G\u22121), t(G\u22121) critical values; jackknife: leave one wijk out. Weights: cell n = respondents per cell (survey-weighted cell means); survey = survey weights.",
        "none": "none",
        "regtable_title": "{outcome}: estimates by model",
        "regtable_title_city": "{outcome}, {city}: estimates by model",
        "note_se": "Standard errors in parentheses, clustered as under Inference.",
        "note_ci": "95% confidence intervals in brackets, clustered as under Inference.",
        "note_scale": "Effects in proportion points (0.01 = 1 percentage point); segmented trends in log-odds per half-year.",
        "note_stars": "Significance: * p < 0.10, ** p < 0.05, *** p < 0.01.",
        "note_adjusted": "Holm and Benjamini-Hochberg p-values are adjusted across the study's outcomes.",
        "note_event": "Event study: waves since the start, reference k = \u22121.",
    },
    "nl": {
        "term_effect": "Effect",
        "term_event": "k = {k}",
        "term_diff_slope_change": "\u0394 verandering helling ({g})",
        "col_twfe": "TWFE, cellen",
        "col_twfe_individual": "TWFE, respondenten",
        "col_event_study": "Event study",
        "col_staggered": "Callaway-Sant'Anna",
        "col_segmented": "Gesegmenteerde trends",
        "col_naive": "Naief verschil",
        "term_avg_post": "Gemiddelde van k \u2265 0",
        "row_n_obs": "Waarnemingen",
        "row_n_wijken": "Wijken",
        "row_n_clusters": "Clusters",
        "row_fixed_effects": "Vaste effecten",
        "row_covariates": "Covariaten",
        "row_weights": "Gewichten",
        "row_inference": "Inferentie",
        "row_pretrend": "Toets pre-trend p",
        "row_p_holm": "p, Holm-gecorrigeerd",
        "row_p_bh": "p, BH-gecorrigeerd",
        "row_p_wcr": "p, wild bootstrap",
        "row_p_ri": "p, randomisatie",
        "fe_wijk_wave": "wijk, meting",
        "fe_none": "geen",
        "fe_group_time": "cohort \u00d7 meting",
        "fe_group_trends": "groepstrends",
        "w_cell_n": "cel n",
        "w_sum_w": "cel \u03a3w",
        "w_survey": "survey",
        "inf_cr1": "CR1 {cluster}",
        "inf_jackknife": "jackknife {cluster}",
        "inf_bootstrap": "bootstrap {cluster}",
        "yes": "ja",
        "note_covariates": "Covariaten ({model}): {covariates}.",
        "note_inference": "CR1: cluster-robuust per wijk, kleine-steekproeffactor G/(G\u22121), kritieke waarden uit t(G\u22121); jackknife: telkens een wijk weggelaten. Gewichten: cel n = respondenten per cel (gewogen celgemiddelden); survey = surveygewichten.",
        "none": "geen",
        "regtable_title": "{outcome}: schattingen per model",
        "regtable_title_city": "{outcome}, {city}: schattingen per model",
        "note_se": "Standaardfouten tussen haakjes, geclusterd zoals onder Inferentie.",
        "note_ci": "95%-betrouwbaarheidsintervallen tussen vierkante haken, geclusterd zoals onder Inferentie.",
        "note_scale": "Effecten in proporties (0,01 = 1 procentpunt); gesegmenteerde trends in log-odds per halfjaar.",
        "note_stars": "Significantie: * p < 0,10, ** p < 0,05, *** p < 0,01.",
        "note_adjusted": "Holm- en Benjamini-Hochberg-p-waarden zijn gecorrigeerd over de uitkomsten van de studie.",
        "note_event": "Event study: metingen sinds de start, referentie k = \u22121.",
    },
}
for _lang, _extra in _TABLE_LABELS.items():
    for _k, _v in _extra.items():
        LABELS[_lang].setdefault(_k, _v)

# Plain-language verdicts (verdict.py): one paragraph per outcome, numbers filled in from the tidy table.
_VERDICT_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "v_none": "No estimator finds a change in {outcome} in the intervention wijken that can be told apart from "
                  "the control wijken: the {n} estimates range from {lo} to {hi} percentage points, and every 95% "
                  "confidence interval includes zero ({span}).",
        "v_all": "All {n} estimators find {direction} in {outcome} in the intervention wijken relative to the "
                 "control wijken: {lo} to {hi} percentage points ({span}).",
        "v_some": "The estimators do not agree on {outcome}: {k} of {n} find {direction} ({sig}); for the others "
                  "the 95% confidence interval includes zero ({rest}).",
        "v_opposite": "The estimators contradict each other on {outcome}: some find a significant decrease ({neg}), "
                      "others a significant increase ({pos}).",
        "v_decrease": "a decrease",
        "v_increase": "an increase",
        "v_estimate": "{model} {est} [{lo}, {hi}]",
        "v_no_estimates": "No effect estimate is available for {outcome}.",
        "v_pretrend_fail": "Caution: before the start, the intervention and control wijken already moved apart "
                           "(event-study pre-trend test p {p}); the estimates may reflect that trend rather than "
                           "the intervention.",
        "v_pretrend_ok": "Before the start, the two groups moved in parallel as far as the data can tell "
                         "(pre-trend test p {p}).",
        "v_few_clusters": "With only {g} wijken as clusters, cluster-robust intervals can be too narrow",
        "v_wcr": "; the wild cluster bootstrap gives p {p} for the two-way fixed-effects estimate",
        "v_sensitivity": "Sensitivity analysis: {text}.",
        "v_breakdown": "the effect stays significant for violations of parallel trends up to M = {m}",
        "v_mde": "The smallest effect this design detects with {power}% power is about {mde} percentage points",
        "v_mde_larger": "; the estimated effects are smaller, so a real effect of that size or less could be missed",
        "v_model_based": "The outcome data are model-based small-area estimates, not direct survey measurements: "
                         "they borrow strength from covariates, which pulls wijken towards each other and "
                         "understates uncertainty.",
    },
    "nl": {
        "v_none": "Geen enkele schatter vindt een verandering in {outcome} in de interventiewijken die te "
                  "onderscheiden is van de controlewijken: de {n} schattingen liggen tussen {lo} en {hi} "
                  "procentpunt, en elk 95%-betrouwbaarheidsinterval bevat nul ({span}).",
        "v_all": "Alle {n} schatters vinden {direction} in {outcome} in de interventiewijken ten opzichte van de "
                 "controlewijken: {lo} tot {hi} procentpunt ({span}).",
        "v_some": "De schatters zijn het niet eens over {outcome}: {k} van de {n} vinden {direction} ({sig}); bij "
                  "de andere bevat het 95%-betrouwbaarheidsinterval nul ({rest}).",
        "v_opposite": "De schatters spreken elkaar tegen over {outcome}: sommige vinden een significante daling "
                      "({neg}), andere een significante stijging ({pos}).",
        "v_decrease": "een daling",
        "v_increase": "een stijging",
        "v_estimate": "{model} {est} [{lo}, {hi}]",
        "v_no_estimates": "Er is geen effectschatting voor {outcome}.",
        "v_pretrend_fail": "Let op: voor de start liepen interventie- en controlewijken al uiteen (pre-trendtoets "
                           "van de event study p {p}); de schattingen kunnen die trend weerspiegelen in plaats "
                           "van de interventie.",
        "v_pretrend_ok": "Voor de start liepen beide groepen parallel, voor zover de gegevens dat laten zien "
                         "(pre-trendtoets p {p}).",
        "v_few_clusters": "Met slechts {g} wijken als clusters kunnen cluster-robuuste intervallen te smal zijn",
        "v_wcr": "; de wild cluster bootstrap geeft p {p} voor de two-way fixed-effects schatting",
        "v_sensitivity": "Gevoeligheidsanalyse: {text}.",
        "v_breakdown": "het effect blijft significant bij schendingen van parallelle trends tot M = {m}",
        "v_mde": "Het kleinste effect dat deze opzet met {power}% power detecteert is ongeveer {mde} procentpunt",
        "v_mde_larger": "; de geschatte effecten zijn kleiner, dus een echt effect van die grootte of kleiner kan "
                        "gemist worden",
        "v_model_based": "De uitkomsten zijn modelmatige schattingen voor kleine gebieden, geen directe "
                         "surveymetingen: ze lenen kracht van covariaten, waardoor wijken naar elkaar toe "
                         "getrokken worden en de onzekerheid wordt onderschat.",
    },
}
for _lang, _extra in _VERDICT_LABELS.items():
    for _k, _v in _extra.items():
        LABELS[_lang].setdefault(_k, _v)

# What each model assumes, one sentence each (review.py: the estimate notebook's last section).
_ASSUMPTION_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "assume_twfe": "Without the intervention, treated and control wijken would have changed in parallel "
                       "(common wave effects), and the effect is the same in every wijk and every wave after "
                       "the start; with staggered starts, already-treated wijken serve as controls.",
        "assume_twfe_individual": "As two-way fixed effects, on respondents: parallel trends conditional on age, "
                                  "sex, education and migration background, a linear probability model, and a "
                                  "constant effect.",
        "assume_event_study": "Parallel trends, with effects allowed to differ by waves since the start; "
                              "leads (k < 0) should be zero, which the joint pre-trend test checks.",
        "assume_staggered": "Parallel trends between each start cohort and the never-treated (or not-yet-"
                            "treated) wijken, no anticipation; effects may differ by cohort and wave, so "
                            "already-treated wijken are never controls.",
        "assume_segmented": "Linear trends in the log-odds before and after each group's start, in treated "
                            "and control wijken alike; the effect is the difference in slope change.",
        "assume_naive": "None worth having: it compares treated with control wijken after the start only, so "
                        "any level difference between them (deprived intervention wijken) is taken as effect.",
        "assume_unknown": "See the model's documentation.",
        "review_model": "Model",
        "review_assumes": "Assumes",
        "review_role": "Role",
        "review_wave": "Wave",
        "review_respondents": "Respondents",
        "review_with_outcome": "With outcome",
        "review_wijken": "Wijken",
        "review_cells": "Cells",
        "review_small_cells": "Cells n < {n}",
        "treated": "Intervention wijken",
        "control_pooled": "Control wijken",
        "raw_trends_title": "{outcome}: weighted prevalence, intervention vs control wijken ({city})",
        "balanced": "|SMD| < {t}",
    },
    "nl": {
        "assume_twfe": "Zonder interventie waren interventie- en controlewijken parallel veranderd (gemeenschappelijke "
                       "meetingseffecten), en het effect is in elke wijk en elke meting na de start gelijk; bij "
                       "gespreide starts dienen al behandelde wijken als controle.",
        "assume_twfe_individual": "Als two-way fixed effects, op respondenten: parallelle trends gegeven leeftijd, "
                                  "geslacht, opleiding en migratieachtergrond, een lineair kansmodel en een "
                                  "constant effect.",
        "assume_event_study": "Parallelle trends, met effecten die per aantal metingen sinds de start mogen "
                              "verschillen; de leads (k < 0) horen nul te zijn, wat de pre-trendtoets nagaat.",
        "assume_staggered": "Parallelle trends tussen elk startcohort en de nooit (of nog niet) behandelde "
                            "wijken, geen anticipatie; effecten mogen per cohort en meting verschillen, dus al "
                            "behandelde wijken zijn nooit controle.",
        "assume_segmented": "Lineaire trends in de log-odds voor en na de start van elke groep, in interventie- "
                            "en controlewijken; het effect is het verschil in verandering van de helling.",
        "assume_naive": "Geen bruikbare: het vergelijkt interventie- met controlewijken alleen na de start, "
                        "dus elk niveauverschil (achterstandswijken) telt als effect.",
        "assume_unknown": "Zie de documentatie van het model.",
        "review_model": "Model",
        "review_assumes": "Veronderstelt",
        "review_role": "Rol",
        "review_wave": "Meting",
        "review_respondents": "Respondenten",
        "review_with_outcome": "Met uitkomst",
        "review_wijken": "Wijken",
        "review_cells": "Cellen",
        "review_small_cells": "Cellen n < {n}",
        "treated": "Interventiewijken",
        "control_pooled": "Controlewijken",
        "raw_trends_title": "{outcome}: gewogen prevalentie, interventie- en controlewijken ({city})",
        "balanced": "|SMD| < {t}",
    },
}
for _lang, _extra in _ASSUMPTION_LABELS.items():
    for _k, _v in _extra.items():
        LABELS[_lang].setdefault(_k, _v)
