"""The benchmark models, written once for both frameworks: ``nn`` is ``deepgrad.nn`` or
``torch.nn`` (same layer names, same arguments, same state-dict keys)."""

MLP_SIZES = (784, 512, 256, 10)


def mlp(nn, batch_norm=False, sizes=MLP_SIZES):
    """784-512-256-10 (or ``sizes``) with ReLU (and BatchNorm1d before each ReLU if asked)."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def convnet(nn):
    """conv 1->32 3x3, ReLU, maxpool 2, conv 32->64 3x3, ReLU, maxpool 2, linear
    3136->128, ReLU, linear 128->10, for 28x28 images."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
