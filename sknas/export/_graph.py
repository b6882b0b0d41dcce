"""The graph being built: nodes, constants, inputs, and models embedded in it."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Opsets of the graph: the default domain's, and ``ai.onnx.ml``'s (its ``TreeEnsemble``
#: takes float64 thresholds and leaf values).
ONNX_OPSET = {"": 18, "ai.onnx.ml": 5}


def _onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise ImportError("ONNX export needs the onnx extra: pip install 'sknas[onnx]'.") from exc
    return onnx


class _Graph:
    """Nodes and constants of the graph being built, with unique tensor names."""

    def __init__(self) -> None:
        self.onnx = _onnx()
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.inputs: list[Any] = []
        #: Exported networks by architecture, for members that share one.
        self.networks: dict[tuple, Any] = {}
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"sknas/{hint}_{self._count}"  # apart from column names

    def const(self, value: Any, hint: str = "const") -> str:
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, domain: str = "", **attributes: Any) -> str:
        output = self.name(op_type.lower())
        node = self.onnx.helper.make_node(
            op_type, list(inputs), [output], name=output, domain=domain, **attributes
        )
        self.nodes.append(node)
        return output

    def input(self, name: str, elem_type: int, n_columns: int) -> str:
        self.inputs.append(
            self.onnx.helper.make_tensor_value_info(name, elem_type, [None, n_columns])
        )
        return name

    def as_float32(self, x: str) -> str:
        """``x`` (float64) rounded to float32 and back: what a float32 copy computes on."""
        proto = self.onnx.TensorProto
        return self.op("Cast", self.op("Cast", x, to=proto.FLOAT), to=proto.DOUBLE)

    def embed(self, model: Any, x: str, prefix: str) -> str:
        """Append a one-input, one-output model's nodes, fed by ``x``; its output's name."""
        onnx = self.onnx
        model = onnx.compose.add_prefix(model, prefix)
        graph = model.graph
        versions = {opset.domain or "": opset.version for opset in model.opset_import}
        if versions.get("", ONNX_OPSET[""]) != ONNX_OPSET[""]:
            model = onnx.version_converter.convert_version(model, ONNX_OPSET[""])
            graph = model.graph
        self.nodes.append(onnx.helper.make_node("Identity", [x], [graph.input[0].name]))
        self.nodes.extend(graph.node)
        self.initializers.extend(graph.initializer)
        return graph.output[0].name


def _unsupported(what: str, part: Any) -> NotImplementedError:
    return NotImplementedError(f"ONNX export does not support {what}: {part!r}.")
