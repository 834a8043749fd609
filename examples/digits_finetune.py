"""A fine-tuning hook for ``edgec sweep --finetune``: after pruning, retrain the classifier
(the last FULLY_CONNECTED layer) on the features the pruned network now computes, with a few
epochs of plain numpy SGD on softmax cross-entropy. No framework: the pruned layers before it
keep their weights, only the classifier adapts to them.

The contract (docs/SWEEP.md): ``finetune(model, data)`` gets an ``edgec.sweep.FinetuneModel``
and the training ``.npz`` arrays (``--train``, else ``--calibrate``); it returns the updated
weights by tensor name.
"""

import numpy as np

EPOCHS = 30
LEARNING_RATE = 0.05
BATCH = 32


def finetune(model, data):
    layer = [lay for lay in model.layers if lay.op == "FULLY_CONNECTED"][-1]
    name = model.inputs[0]
    features = model.run({name: data[name]}, tensors=[layer.input])[layer.input]
    x = features.reshape(len(features), -1).astype(np.float64)
    y = data["labels"].astype(np.int64)
    weights = model.weights
    w = weights[layer.weight].astype(np.float64)  # [classes, features]
    b = weights[layer.bias].astype(np.float64)
    rng = np.random.default_rng(0)
    for _ in range(EPOCHS):
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            batch = order[start:start + BATCH]
            logits = x[batch] @ w.T + b
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(batch)), y[batch]] -= 1.0  # d(loss)/d(logits)
            w -= LEARNING_RATE * (p.T @ x[batch]) / len(batch)
            b -= LEARNING_RATE * p.mean(axis=0)
    return {layer.weight: w.astype(np.float32), layer.bias: b.astype(np.float32)}
