"""Artifact writers that read the IR (ONNX, standalone PyTorch source, diagrams).

Shipped inside the wheel as ``nasgen.exporters`` (``nasgen/exporters`` is a relative symlink to
this folder). ``nasgen.exporters.onnx`` writes ONNX inference graphs from the IR and a
state_dict's arrays without importing torch. Nothing here is imported by ``nasgen`` itself.
"""

__all__: list[str] = []
