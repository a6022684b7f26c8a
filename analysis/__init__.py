"""Statistical engine of the promotion pipeline: BCa intervals, effects, power.

Trials (benchmarks) -> results (this package) -> verdict (gates). Nothing in
``packrepo`` imports it.
"""

from analysis.batch import (
    BCaBatchResult,
    MeanRatio,
    QuantileRatio,
    RatioOfSums,
    RelativeChange,
    bca_relative_change,
)
from analysis.bootstrap import BCaResult, bca
from analysis.compare import ComparisonResult, Family, FamilyResult, compare
from analysis.effects import (
    EffectSize,
    HolmResult,
    adjusted_confidence_level,
    bca_p_value,
    bonferroni,
    bonferroni_p_values,
    cohens_dz,
    effect_label,
    holm,
)
from analysis.errors import AnalysisInputError, DegenerateDataError, DegenerateIntervalWarning
from analysis.power import (
    PowerResult,
    minimum_detectable_effect,
    paired_t_power,
    power_analysis,
    units_for_power,
)

__all__ = [
    "AnalysisInputError",
    "BCaBatchResult",
    "BCaResult",
    "ComparisonResult",
    "DegenerateDataError",
    "DegenerateIntervalWarning",
    "EffectSize",
    "Family",
    "FamilyResult",
    "HolmResult",
    "MeanRatio",
    "PowerResult",
    "QuantileRatio",
    "RatioOfSums",
    "RelativeChange",
    "adjusted_confidence_level",
    "bca",
    "bca_p_value",
    "bca_relative_change",
    "bonferroni",
    "bonferroni_p_values",
    "cohens_dz",
    "compare",
    "effect_label",
    "holm",
    "minimum_detectable_effect",
    "paired_t_power",
    "power_analysis",
    "units_for_power",
]
