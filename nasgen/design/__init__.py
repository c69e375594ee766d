"""Design spaces (Radosavovic et al. 2020): the RegNet generator, stage lists and the zoo.

Pipeline stage: front end, beside ``nasgen.dsl``; imports ``nasgen.errors`` only, never a
framework.
"""

from nasgen.design.fit import Fit, fit_regnet
from nasgen.design.regnet import (
    ZOO,
    RegNetParams,
    Stage,
    compatible,
    generate_regnet,
    regnet_stages,
)
from nasgen.design.stages import BLOCKS, MAX_STAGES, stage_list

__all__ = [
    "BLOCKS",
    "MAX_STAGES",
    "ZOO",
    "Fit",
    "RegNetParams",
    "Stage",
    "compatible",
    "fit_regnet",
    "generate_regnet",
    "regnet_stages",
    "stage_list",
]
