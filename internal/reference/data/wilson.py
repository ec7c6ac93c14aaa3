"""Wilson score intervals from statsmodels, the reference for data.Wilson (data/propensity_test.go).

Prints the Go table of the test: statsmodels.stats.proportion.proportion_confint(k, n, alpha=0.05,
method="wilson") for each case. Run from the repo root with a venv holding statsmodels (0.15.0 made the
committed numbers):

    python3 -m venv /tmp/sm && /tmp/sm/bin/pip install statsmodels
    /tmp/sm/bin/python internal/reference/data/wilson.py
"""
import statsmodels
from statsmodels.stats.proportion import proportion_confint

cases = [(0, 1), (1, 1), (0, 10), (10, 10), (3, 10), (1, 2), (5, 7), (0, 180), (180, 180), (17, 180),
         (90, 180), (1, 1000), (999, 1000), (2, 3540)]
print(f"\t// statsmodels {statsmodels.__version__} proportion_confint(k, n, alpha=0.05, method=\"wilson\")")
for k, n in cases:
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    print(f"\t{{{k}, {n}, {lo!r}, {hi!r}}},")
