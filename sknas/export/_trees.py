"""The ensemble's forests, and its histogram gradient boosting models, each kind merged
into ``TreeEnsemble`` nodes (every fold of every bag), in float64.

The trees compare as scikit-learn's do: forests on float32-rounded inputs, gradient
boosting on float64 ones, both against float64 thresholds; leaf values are summed in
float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._graph import _Graph

#: Most trees x classes whose leaves' class values one ``Gather`` looks up: it holds a
#: (rows, trees, classes) float64 tensor, 16 KiB per row at most; forests with more
#: trees take several. Measured on the 10 forests of a default fit on digits (2,200
#: trees, 10 classes; one intra-op thread): 8,192 cells took 0.49 ms a row and 5.0 s
#: and 981 MiB for 10,000 rows; 2,048 cells 0.54 ms, 2.4 s and 274 MiB.
LEAF_TABLE_CELLS = 2048


def _tree_ensemble(g: _Graph, x: str, trees: list[dict[str, np.ndarray]], n_targets: int) -> str:
    """Sum over ``trees`` of their leaves' values, one ``TreeEnsemble`` node, float64.

    Each tree: ``left``, ``right`` (children, ignored at leaves), ``feature``,
    ``threshold`` (go left when ``x <= threshold``), ``missing_left``, ``is_leaf``,
    ``value`` (at leaves), ``target``, the column its leaves add to.
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
            internal = np.flatnonzero(~is_leaf)
            leaf_rows = np.flatnonzero(is_leaf)
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


def _forests(g: _Graph, parts: list[tuple[Any, float]], x: str, n_outputs: int) -> str:
    """Weighted sum of forest members' predictions, on float32 inputs; ``(n, n_outputs)``
    probabilities or ``(n, 1)`` values.

    ``parts`` holds ``(member, weight)`` pairs (``ClassicalMember`` of a forest); each
    leaf's value is scaled by its weight over its forest's trees (and regression's
    ``target_scale``), so that the sum is the ensemble's share of the forests: one
    ``TreeEnsemble`` node for regression. A leaf of a ``TreeEnsemble`` adds to one
    column only: for classification each tree gives the index of the leaf a row reaches
    and the leaves' class values are looked up in a table, one node and table for each
    :data:`LEAF_TABLE_CELLS` trees x classes.
    """
    classification = parts[0][0].task == "classification"
    trees, tables, offset = [], [], 0.0
    for member, weight in parts:
        forest = member.estimator
        n_columns = getattr(forest, "n_classes_", 1)
        scale = weight / len(forest.estimators_)
        if not classification:
            scale *= member.target_scale
            offset += weight * member.target_mean
        for estimator in forest.estimators_:
            tree = estimator.tree_
            is_leaf = tree.children_left == -1
            arrays = {
                "left": tree.children_left,
                "right": tree.children_right,
                "feature": tree.feature,
                "threshold": tree.threshold,
                "missing_left": getattr(tree, "missing_go_to_left", np.zeros(tree.node_count)),
                "is_leaf": is_leaf,
            }
            values = tree.value[:, 0, :n_columns] * scale
            if classification:
                leaves = np.zeros((int(is_leaf.sum()), n_outputs))
                leaves[:, forest.classes_] = values[is_leaf]
                tables.append(leaves)
                trees.append(arrays)
            else:
                trees.append(arrays | {"value": values[:, 0], "target": 0})
    x = g.as_float32(x)
    if not classification:
        total = _tree_ensemble(g, x, trees, 1)
        return g.op("Add", total, g.const(np.float64(offset)))
    step = max(1, LEAF_TABLE_CELLS // n_outputs)
    sums = [
        _leaf_lookup(g, x, trees[start : start + step], tables[start : start + step])
        for start in range(0, len(trees), step)
    ]
    return sums[0] if len(sums) == 1 else g.op("Sum", *sums)


def _leaf_lookup(
    g: _Graph, x: str, trees: list[dict[str, np.ndarray]], tables: list[np.ndarray]
) -> str:
    """Sum over ``trees`` of the rows of ``tables`` (one per tree, a row per leaf) that
    the leaves reached give: each tree is a column of leaf indices (exact float64
    integers) of one ``TreeEnsemble`` node, looked up with one ``Gather``."""
    first = np.cumsum([0] + [len(table) for table in tables[:-1]])
    indexed = [
        tree | {"value": (np.cumsum(tree["is_leaf"]) - 1 + start).astype(np.float64), "target": t}
        for t, (tree, start) in enumerate(zip(trees, first, strict=True))
    ]
    leaves = _tree_ensemble(g, x, indexed, len(indexed))
    index = g.op("Cast", leaves, to=g.onnx.TensorProto.INT64)
    reached = g.op("Gather", g.const(np.concatenate(tables)), index, axis=0)
    return g.op("ReduceSum", reached, g.const(np.array([1], np.int64)), keepdims=0)


def _boostings(g: _Graph, parts: list[tuple[Any, float]], x: str, n_outputs: int) -> str:
    """Weighted sum of histogram gradient boosting members' predictions, one
    ``TreeEnsemble`` node on float64 inputs; ``(n, n_outputs)`` probabilities or
    ``(n, 1)`` values.

    Regression values are linear in the leaves: the leaves are scaled by their member's
    weight (and ``target_scale``) and sum to one column. Classifiers' raw scores are the
    node's columns, member after member; members that saw the same classes take one
    softmax (sigmoid for two classes) over a ``(n, members, classes)`` reshape, then
    their weighted sum.
    """
    splits = _CategorySplits()
    if parts[0][0].task == "regression":
        trees, offset = [], 0.0
        for member, weight in parts:
            scale = weight * member.target_scale
            trees += _boosting_trees(member, scale, 0, splits)
            baseline = float(np.asarray(member.estimator._baseline_prediction).ravel()[0])
            offset += scale * baseline + weight * member.target_mean
        ensemble = _tree_ensemble(g, splits.inputs(g, x), trees, 1)
        return g.op("Add", ensemble, g.const(np.float64(offset)))
    by_classes: dict[tuple, list[tuple[Any, float]]] = {}
    for member, weight in parts:
        by_classes.setdefault(tuple(member.estimator.classes_), []).append((member, weight))
    trees, baselines = [], []
    for group in by_classes.values():
        for member, _ in group:
            trees += _boosting_trees(member, 1.0, sum(len(b) for b in baselines), splits)
            baselines.append(np.asarray(member.estimator._baseline_prediction, np.float64).ravel())
    n_targets = sum(len(b) for b in baselines)
    ensemble = _tree_ensemble(g, splits.inputs(g, x), trees, n_targets)
    raw = g.op("Add", ensemble, g.const(np.concatenate(baselines)[None]))
    outputs, start = [], 0
    for classes, group in by_classes.items():
        per_iteration = group[0][0].estimator.n_trees_per_iteration_
        end = start + len(group) * per_iteration
        scores = raw
        if end - start < n_targets:
            bounds = (g.const(np.array([i], np.int64)) for i in (start, end, 1))  # axis 1
            scores = g.op("Slice", raw, *bounds)
        start = end
        weights = np.array([weight for _, weight in group])
        if per_iteration == 1:  # [1 - expit(d), expit(d)], weighted
            positive = g.op("MatMul", g.op("Sigmoid", scores), g.const(weights[:, None]))
            negative = g.op("Sub", g.const(np.float64(weights.sum())), positive)
            proba = g.op("Concat", negative, positive, axis=1)
        else:
            shape = np.array([0, len(group), per_iteration], np.int64)
            proba = g.op("Softmax", g.op("Reshape", scores, g.const(shape)), axis=2)
            proba = g.op("Mul", proba, g.const(weights[None, :, None]))
            proba = g.op("ReduceSum", proba, g.const(np.array([1], np.int64)), keepdims=0)
        outputs.append(_spread(g, proba, np.asarray(classes), n_outputs))
    return outputs[0] if len(outputs) == 1 else g.op("Sum", *outputs)


def _spread(g: _Graph, proba: str, classes: np.ndarray, n_outputs: int) -> str:
    """Probabilities of a model that saw ``classes`` (codes) as ``n_outputs`` columns."""
    if np.array_equal(classes, np.arange(n_outputs)):
        return proba
    spread = np.zeros((len(classes), n_outputs))
    spread[np.arange(len(classes)), classes] = 1.0
    return g.op("MatMul", proba, g.const(spread))


def _boosting_trees(
    member: Any, scale: float, first_target: int, splits: _CategorySplits
) -> list[dict[str, Any]]:
    """The trees of a histogram gradient boosting member, leaves times ``scale``; an
    iteration's k-th tree adds to column ``first_target + k``. Splits on category codes
    (a member with ``codes``) become comparisons of ``splits``' columns."""
    model, codes = member.estimator, member.codes
    trees = []
    for iteration in model._predictors:
        for target, predictor in enumerate(iteration):
            nodes = predictor.nodes
            feature, threshold = nodes["feature_idx"], nodes["num_threshold"]
            if codes is not None:
                feature, threshold = _coded_splits(model, codes, predictor, splits)
            trees.append(
                {
                    "left": nodes["left"],
                    "right": nodes["right"],
                    "feature": feature,
                    "threshold": threshold,
                    "missing_left": nodes["missing_go_to_left"],
                    "is_leaf": nodes["is_leaf"].astype(bool),
                    "value": nodes["value"] * scale,
                    "target": first_target + target,
                }
            )
    return trees


class _CategorySplits:
    """Splits of gradient boosting on category codes, as input columns appended to the
    preprocessed matrix that the trees compare like numbers.

    scikit-learn sends a row left when its level is in the split's set, right when it
    is another level seen in training, and the missing way otherwise (no level, or one
    unseen in training). A split's column is 0 (left), 1 (right) or NaN (missing), and
    its node goes left at <= 0.5, NaN the missing way: for a one-hot block, the one-hot
    of its right levels over the one-hot of its left and right levels (0 / 0 = NaN);
    for a column of level codes, a look-up of the code in a table of the three.
    """

    def __init__(self) -> None:
        self.n_features = 0
        self.columns: dict[tuple, int] = {}

    def column(self, n_features: int, start: int, left: np.ndarray, right: np.ndarray) -> int:
        """The input column of a split of block ``start`` (masks over its levels)."""
        return self._add(n_features, ("block", start, len(left), left.tobytes(), right.tobytes()))

    def level_column(
        self, n_features: int, column: int, scale: float, left: np.ndarray, right: np.ndarray
    ) -> int:
        """The input column of a split of the level codes in ``column`` (``x * scale``)."""
        return self._add(n_features, ("level", column, scale, left.tobytes(), right.tobytes()))

    def _add(self, n_features: int, key: tuple) -> int:
        self.n_features = n_features
        return n_features + self.columns.setdefault(key, len(self.columns))

    def inputs(self, g: _Graph, x: str) -> str:
        """``x`` with the splits' columns appended (``x`` itself when there are none)."""
        if not self.columns:
            return x
        blocks = [key for key in self.columns if key[0] == "block"]
        parts, order = [], []
        if blocks:
            shape = (self.n_features, len(blocks))
            left, right = np.zeros(shape), np.zeros(shape)
            for k, (_, start, width, left_levels, right_levels) in enumerate(blocks):
                left[start : start + width, k] = np.frombuffer(left_levels, bool)
                right[start : start + width, k] = np.frombuffer(right_levels, bool)
            went_right = g.op("MatMul", x, g.const(right))
            known = g.op("Add", g.op("MatMul", x, g.const(left)), went_right)
            parts.append(g.op("Div", went_right, known))
            order += [self.columns[key] for key in blocks]
        by_column: dict[tuple[int, float], list[tuple]] = {}
        for key in self.columns:
            if key[0] == "level":
                by_column.setdefault(key[1:3], []).append(key)
        for (column, scale), keys in by_column.items():
            table = np.full((int(round(scale)) + 2, len(keys)), np.nan)  # row 0: unseen
            for k, (*_, left_levels, right_levels) in enumerate(keys):
                table[1:][np.frombuffer(left_levels, bool), k] = 0.0
                table[1:][np.frombuffer(right_levels, bool), k] = 1.0
            value = g.op("Gather", x, g.const(np.array([column], np.int64)), axis=1)
            code = g.op("Round", g.op("Mul", value, g.const(np.array(scale, np.float64))))
            code = g.op("Max", code, g.const(np.array(-1.0)))  # unseen: any negative code
            index = g.op("Cast", g.op("Add", code, g.const(np.array(1.0))), to=7)  # int64
            rows = g.op("Gather", g.const(table, "levels"), index, axis=0)  # (n, 1, splits)
            parts.append(g.op("Reshape", rows, g.const(np.array([0, -1], np.int64))))
            order += [self.columns[key] for key in keys]
        split_columns = parts[0] if len(parts) == 1 else g.op("Concat", *parts, axis=1)
        if order != sorted(order):  # back to the order the trees number them in
            positions = np.argsort(order).astype(np.int64)
            split_columns = g.op("Gather", split_columns, g.const(positions), axis=1)
        return g.op("Concat", x, split_columns, axis=1)


def _coded_splits(
    model: Any, codes: Any, predictor: Any, splits: _CategorySplits
) -> tuple[np.ndarray, np.ndarray]:
    """Node features and thresholds of a tree fitted on ``codes(X)``, on ``X``'s columns
    and ``splits``' ones."""
    nodes = predictor.nodes
    n_blocks = len(codes.blocks)
    n_features = codes.n_inputs(model.n_features_in_)
    others = codes.other_columns(n_features)
    known, known_index = model._bin_mapper.make_known_categories_bitsets()
    encoder = model._preprocessor.named_transformers_["encoder"]
    feature = nodes["feature_idx"].astype(np.int64)
    threshold = nodes["num_threshold"].astype(np.float64)
    for node in np.flatnonzero(~nodes["is_leaf"].astype(bool)):
        f = feature[node]
        if not nodes["is_categorical"][node]:
            feature[node] = others[f - codes.n_categorical]
            continue
        if f < n_blocks:
            start, width = codes.blocks[f]
        else:
            column, scale = codes.levels[f - n_blocks]
            width = int(round(scale)) + 1
        # scikit-learn's trees number the levels they saw 0, 1, ... (an OrdinalEncoder)
        levels = encoder.categories_[f]
        levels = levels[~np.isnan(levels)].astype(np.int64)
        left, right = np.zeros(width, bool), np.zeros(width, bool)
        bitset = predictor.raw_left_cat_bitsets[nodes["bitset_idx"][node]]
        left[levels] = _in_bitset(bitset, len(levels))
        right[levels] = _in_bitset(known[known_index[f]], len(levels))
        right &= ~left
        if f < n_blocks:
            feature[node] = splits.column(n_features, start, left, right)
        else:
            feature[node] = splits.level_column(n_features, column, scale, left, right)
        threshold[node] = 0.5
    return feature, threshold


def _in_bitset(bitset: np.ndarray, width: int) -> np.ndarray:
    """Which of the levels ``0..width-1`` a scikit-learn bitset (8 uint32) holds."""
    levels = np.arange(width)
    return ((bitset[levels // 32] >> (levels % 32).astype(np.uint32)) & 1).astype(bool)
