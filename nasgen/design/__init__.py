"""Design spaces (Radosavovic et al. 2020): the RegNet generator and the model zoo's settings.

Pipeline stage: front end, beside ``nasgen.dsl``; imports ``nasgen.errors`` only, never a
framework.
"""

from nasgen.design.regnet import ZOO, RegNetParams, Stage, generate_regnet, regnet_stages

__all__ = ["ZOO", "RegNetParams", "Stage", "generate_regnet", "regnet_stages"]
