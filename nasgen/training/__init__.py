"""Training: data sets, recipes, the training loop and run directories (imports torch)."""

__all__: list[str] = []
