"""Artifact writers that read the IR (ONNX, standalone PyTorch source, diagrams).

Shipped inside the wheel as ``nasgen.exporters`` (``nasgen/exporters`` is a relative symlink to
this folder). Empty until the ONNX exporter lands; nothing here is imported by ``nasgen``.
"""

__all__: list[str] = []
