"""The wild cluster bootstrap's fast path (seven products of the draws, O(reps) per test) gives exactly the
p-values of the direct computation (O(reps x G) per test), for Rademacher and Webb weights, at every beta0."""

from __future__ import annotations

import numpy as np
import pytest

from wijkeffect.models.inference import Partialled, _boot_p, _BootSums, draw_weights


@pytest.mark.parametrize("kind", ["rademacher", "webb"])
@pytest.mark.parametrize("g", [12, 400])
def test_fast_bootstrap_pvalues_equal_the_direct_ones(kind, g):
    rng = np.random.default_rng(g)
    cl = np.repeat(np.arange(g), 9)
    x = rng.normal(size=cl.size) + (cl < g // 4)
    y = 0.1 * x + rng.normal(size=cl.size) + rng.normal(size=g)[cl]
    w = rng.uniform(0.5, 2, cl.size)
    p = Partialled(y - y.mean(), x - x.mean(), w, cl, g)
    v = draw_weights(np.random.default_rng(3), 999, g, kind)
    fast = _BootSums(p, v)
    for beta0 in (0.0, 0.05, p.beta(), 0.3, -0.4):
        assert fast.pvalue(beta0) == pytest.approx(_boot_p(p, v, beta0), abs=1e-12)
