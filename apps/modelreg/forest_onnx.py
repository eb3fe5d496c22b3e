"""A scikit-learn forest classifier as one ONNX ``TreeEnsembleClassifier``,
written from the trees' arrays at once.

skl2onnx converts a forest node by node in Python and writes every class's
weight at every leaf; a fully grown forest of a tenant's large archive has
millions of nodes and leaves holding one class each, so its conversion took
many times the forest's own fit. Here each tree's arrays become the
operator's attributes in a few numpy steps, with only the leaves' non-zero
class weights (a missing weight is zero). The graph is the one skl2onnx
writes with ``zipmap`` off: input ``features`` (float [N, width]), outputs
``label`` and ``probabilities`` (float [N, classes]), the mean of the trees'
leaf class fractions, as ``predict_proba``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ML_DOMAIN = "ai.onnx.ml"
OPSET = 17
IR_VERSION = 8


def is_forest(estimator: Any) -> bool:
    """Whether ``estimator`` is a fitted random or extra-trees classifier of
    one output, which ``forest_to_onnx`` writes."""
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

    return (
        isinstance(estimator, RandomForestClassifier | ExtraTreesClassifier)
        and hasattr(estimator, "estimators_")
        and getattr(estimator, "n_outputs_", 1) == 1
    )


def _below(threshold: np.ndarray) -> np.ndarray:
    """The largest float32 at most each float64 ``threshold``: a float32
    input is at most the one exactly when it is at most the other, so the
    runtime's float32 comparison splits as scikit-learn's float64 one."""
    t32 = threshold.astype(np.float32)
    over = t32.astype(np.float64) > threshold
    t32[over] = np.nextafter(t32[over], np.float32(-np.inf))
    return t32


def forest_to_onnx(forest: Any, width: int) -> bytes:
    """The ONNX bytes of a fitted forest (``is_forest``) reading ``width``
    float features."""
    from onnx import TensorProto, helper

    classes = forest.classes_
    n_classes = len(classes)
    n_trees = len(forest.estimators_)
    # Of two classes, the runtime reads one weight a leaf, in class column 0,
    # as the second class's score.
    binary = n_classes == 2
    node_tree, node_id, feature, value, mode, true_id, false_id = ([] for _ in range(7))
    leaf_tree, leaf_node, leaf_class, leaf_weight = ([] for _ in range(4))
    for t, est in enumerate(forest.estimators_):
        tree = est.tree_
        n = tree.node_count
        left, right = tree.children_left, tree.children_right
        leaf = left == -1
        node_tree.append(np.full(n, t, dtype=np.int64))
        node_id.append(np.arange(n, dtype=np.int64))
        feature.append(np.where(leaf, 0, tree.feature).astype(np.int64))
        value.append(np.where(leaf, np.float32(0), _below(tree.threshold)))
        mode.append(leaf)
        true_id.append(np.where(leaf, 0, left).astype(np.int64))
        false_id.append(np.where(leaf, 0, right).astype(np.int64))
        leaves = np.flatnonzero(leaf)
        fractions = tree.value[leaves, 0, :].astype(np.float64)
        totals = fractions.sum(axis=1, keepdims=True)
        fractions = fractions / np.where(totals > 0, totals, 1.0) / n_trees
        if binary:
            rows = np.arange(len(leaves))
            cols = np.zeros(len(leaves), dtype=np.int64)
            weights = fractions[:, 1]
        else:
            rows, cols = np.nonzero(fractions)
            weights = fractions[rows, cols]
        leaf_tree.append(np.full(len(rows), t, dtype=np.int64))
        leaf_node.append(leaves[rows].astype(np.int64))
        leaf_class.append(cols.astype(np.int64))
        leaf_weight.append(weights.astype(np.float32))

    def cat(parts: list[np.ndarray]) -> list[Any]:
        return np.concatenate(parts).tolist()

    is_leaf = np.concatenate(mode)
    labels: dict[str, Any]
    if np.issubdtype(np.asarray(classes).dtype, np.integer):
        labels = {"classlabels_int64s": [int(c) for c in classes]}
        label_type = TensorProto.INT64
    else:
        labels = {"classlabels_strings": [str(c) for c in classes]}
        label_type = TensorProto.STRING
    node = helper.make_node(
        "TreeEnsembleClassifier",
        ["features"],
        ["label", "probabilities"],
        domain=ML_DOMAIN,
        nodes_treeids=cat(node_tree),
        nodes_nodeids=cat(node_id),
        nodes_featureids=cat(feature),
        nodes_values=cat(value),
        nodes_modes=np.where(is_leaf, "LEAF", "BRANCH_LEQ").tolist(),
        nodes_truenodeids=cat(true_id),
        nodes_falsenodeids=cat(false_id),
        class_treeids=cat(leaf_tree),
        class_nodeids=cat(leaf_node),
        class_ids=cat(leaf_class),
        class_weights=cat(leaf_weight),
        post_transform="NONE",
        **labels,
    )
    graph = helper.make_graph(
        [node],
        "forest",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, width])],
        [
            helper.make_tensor_value_info("label", label_type, [None]),
            helper.make_tensor_value_info(
                "probabilities", TensorProto.FLOAT, [None, n_classes]
            ),
        ],
    )
    model = helper.make_model(
        graph,
        opset_imports=[
            helper.make_opsetid("", OPSET),
            helper.make_opsetid(ML_DOMAIN, 1),
        ],
        producer_name="cadml",
    )
    # The IR version of opset 17, as skl2onnx writes it: runtimes older than
    # this onnx package still load the file.
    model.ir_version = IR_VERSION
    return model.SerializeToString()
