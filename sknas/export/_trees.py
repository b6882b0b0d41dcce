"""Forests and histogram gradient boosting as one ``TreeEnsemble`` node each, in float64.

The trees compare as scikit-learn's do: forests on float32-rounded inputs, gradient
boosting on float64 ones, both against float64 thresholds; leaf values are summed in
float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._graph import _Graph, _unsupported

#: Most trees x classes of a forest whose leaves' class values are looked up in one
#: table: the lookup holds a (rows, trees, classes) float64 tensor, 64 KiB per row at
#: most here; larger forests evaluate a copy of their trees per class instead.
LEAF_TABLE_CELLS = 8192


def _tree_ensemble(g: _Graph, x: str, trees: list[dict[str, np.ndarray]], n_targets: int) -> str:
    """Sum over ``trees`` of their leaves' values, one ``TreeEnsemble`` node, float64.

    Each tree: ``left``, ``right`` (children, ignored at leaves), ``feature``,
    ``threshold`` (go left when ``x <= threshold``), ``missing_left``, ``is_leaf``,
    ``value`` (at leaves), ``target``, the column its leaves add to, and optionally
    ``reached``, the nodes kept (the others are below a pruned node).
    """
    nodes: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "split", "missing")}
    for side in ("true", "false"):
        nodes[side], nodes[side + "_leaf"] = [], []
    leaves, targets, roots = [], [], []
    n_nodes = n_leaves = 0
    for tree in trees:
        is_leaf = np.asarray(tree["is_leaf"], bool)
        if is_leaf[0]:  # a lone leaf: one split whose two branches reach it
            tree = tree | {"feature": [0], "threshold": [0.0], "missing_left": [1]}
            internal, leaf_rows = np.array([0]), np.array([0])
            for side in ("true", "false"):
                nodes[side].append(np.array([n_leaves]))
                nodes[side + "_leaf"].append(np.array([1]))
        else:
            reached = tree.get("reached", True)
            internal = np.flatnonzero(~is_leaf & reached)
            leaf_rows = np.flatnonzero(is_leaf & reached)
            index = np.zeros(len(is_leaf), np.int64)
            index[internal] = n_nodes + np.arange(len(internal))
            index[leaf_rows] = n_leaves + np.arange(len(leaf_rows))
            for side, children in (("true", tree["left"]), ("false", tree["right"])):
                children = np.asarray(children)[internal]
                nodes[side].append(index[children])
                nodes[side + "_leaf"].append(is_leaf[children].astype(np.int64))
        nodes["feature"].append(np.asarray(tree["feature"], np.int64)[internal])
        nodes["split"].append(np.asarray(tree["threshold"], np.float64)[internal])
        nodes["missing"].append(np.asarray(tree["missing_left"], np.int64)[internal])
        leaves.append(np.asarray(tree["value"], np.float64)[leaf_rows])
        targets.append(np.full(len(leaf_rows), tree["target"], np.int64))
        roots.append(n_nodes)
        n_nodes += len(internal)
        n_leaves += len(leaf_rows)
    flat = {k: np.concatenate(v) for k, v in nodes.items()}
    helper = g.onnx.numpy_helper
    return g.op(
        "TreeEnsemble",
        x,
        domain="ai.onnx.ml",
        n_targets=n_targets,
        tree_roots=roots,
        nodes_featureids=flat["feature"].tolist(),
        nodes_splits=helper.from_array(flat["split"]),
        nodes_modes=helper.from_array(np.zeros(n_nodes, np.uint8)),  # BRANCH_LEQ
        nodes_truenodeids=flat["true"].tolist(),
        nodes_trueleafs=flat["true_leaf"].tolist(),
        nodes_falsenodeids=flat["false"].tolist(),
        nodes_falseleafs=flat["false_leaf"].tolist(),
        nodes_missing_value_tracks_true=flat["missing"].tolist(),
        leaf_targetids=np.concatenate(targets).tolist(),
        leaf_weights=helper.from_array(np.concatenate(leaves)),
        aggregate_function=1,  # SUM
        post_transform=0,
    )


def _forest(g: _Graph, forest: Any, x: str) -> str:
    """What ``_forest_average`` computes: the trees' mean on float32 inputs.

    A leaf of a ``TreeEnsemble`` adds to one column only. With at most
    :data:`LEAF_TABLE_CELLS` trees x columns, each tree gives the index of the leaf a row
    reaches, and the leaves' values are looked up in one table (fast); larger forests
    get a copy of each tree per column instead, pruned to the subtrees that add to it.
    """
    n_columns = getattr(forest, "n_classes_", 1)
    x = g.as_float32(x)
    trees, table = [], []
    lookup = n_columns > 1 and len(forest.estimators_) * n_columns <= LEAF_TABLE_CELLS
    for estimator in forest.estimators_:
        tree = estimator.tree_
        arrays = {
            "left": tree.children_left,
            "right": tree.children_right,
            "feature": tree.feature,
            "threshold": tree.threshold,
            "missing_left": getattr(tree, "missing_go_to_left", np.zeros(tree.node_count)),
            "is_leaf": tree.children_left == -1,
        }
        values = tree.value[:, 0, :n_columns]
        if lookup:  # leaf indices into the table, as exact float64 integers
            first = sum(len(part) for part in table)
            index = np.cumsum(arrays["is_leaf"]) - 1 + first
            table.append(values[arrays["is_leaf"]])
            trees.append(arrays | {"value": index.astype(np.float64), "target": len(trees)})
            continue
        live = _nonzero_below(arrays["left"], arrays["right"], arrays["is_leaf"], values)
        for target in np.flatnonzero(live[0]):
            trees.append(_pruned(arrays, values[:, target], live[:, target]) | {"target": target})
    if lookup:
        leaves = _tree_ensemble(g, x, trees, len(trees))
        index = g.op("Cast", leaves, to=g.onnx.TensorProto.INT64)
        reached = g.op("Gather", g.const(np.concatenate(table)), index, axis=0)
        total = g.op("ReduceSum", reached, g.const(np.array([1], np.int64)), keepdims=0)
    else:
        total = _tree_ensemble(g, x, trees, n_columns)
    return g.op("Div", total, g.const(np.float64(len(forest.estimators_))))


def _nonzero_below(
    left: np.ndarray, right: np.ndarray, is_leaf: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """Whether some leaf under each node (itself, for a leaf) has a non-zero value, per column.

    Children come after their parent in scikit-learn's trees, so one backward pass does.
    """
    live = values != 0
    for node in np.flatnonzero(~is_leaf)[::-1]:
        live[node] = live[left[node]] | live[right[node]]
    return live


def _pruned(tree: dict[str, np.ndarray], value: np.ndarray, live: np.ndarray) -> dict:
    """``tree`` for one column: a subtree whose leaves all add zero becomes a zero leaf.

    Forests grown to pure leaves add zero to most columns at most leaves: a copy per
    column would otherwise repeat every tree once per class.
    """
    reached = np.zeros(len(live), bool)
    reached[0] = True
    is_leaf = tree["is_leaf"] | ~live
    for node in np.flatnonzero(~is_leaf):  # parents first
        reached[tree["left"][node]] = reached[tree["right"][node]] = reached[node]
    return tree | {"is_leaf": is_leaf, "value": np.where(live, value, 0.0), "reached": reached}


def _boosting(g: _Graph, model: Any, x: str) -> str:
    """Raw predictions of histogram gradient boosting: baseline plus its trees."""
    trees = []
    for iteration in model._predictors:
        for target, predictor in enumerate(iteration):
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise _unsupported("gradient boosting on native categorical features", model)
            trees.append(
                {
                    "left": nodes["left"],
                    "right": nodes["right"],
                    "feature": nodes["feature_idx"],
                    "threshold": nodes["num_threshold"],
                    "missing_left": nodes["missing_go_to_left"],
                    "is_leaf": nodes["is_leaf"].astype(bool),
                    "value": nodes["value"],
                    "target": target,
                }
            )
    total = _tree_ensemble(g, x, trees, model.n_trees_per_iteration_)
    return g.op("Add", total, g.const(np.asarray(model._baseline_prediction, np.float64)))
