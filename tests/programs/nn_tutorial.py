""""What is torch.nn really?": logistic regression on MNIST-shaped data, first from raw
tensors, then refactored step by step into nn.Module, nn.Linear, optim, TensorDataset,
DataLoader, a CNN of nn.Sequential with a Lambda layer, and a wrapped DataLoader."""
import math

import numpy as np


def _mnist_arrays(shared, n_train=200, n_valid=100):
    x_train = shared.uniform("x_train", (n_train, 784))
    y_train = shared.labels("y_train", n_train, 10)
    x_valid = shared.uniform("x_valid", (n_valid, 784))
    y_valid = shared.labels("y_valid", n_valid, 10)
    return x_train, y_train, x_valid, y_valid


def from_scratch(torch, shared, epochs=2, bs=64, lr=0.5):
    x_train, y_train, x_valid, y_valid = map(torch.tensor, _mnist_arrays(shared))
    n, c = x_train.shape
    facts = {"n": n, "c": c, "min": x_train.min(), "max": x_train.max(),
             "y_train_is_int64": y_train.dtype == torch.int64}

    weights = torch.randn(784, 10) / math.sqrt(784)
    weights.requires_grad_()
    facts["drawn"] = [weights.requires_grad, weights.is_leaf]
    weights = torch.from_numpy(shared.randn("weights", (784, 10), 1 / math.sqrt(784)))
    weights.requires_grad_()
    bias = torch.zeros(10, requires_grad=True)

    def log_softmax(x):
        return x - x.exp().sum(-1).log().unsqueeze(-1)

    def model(xb):
        return log_softmax(xb @ weights + bias)

    def nll(input, target):
        return -input[range(target.shape[0]), target].mean()

    loss_func = nll

    def accuracy(out, yb):
        preds = torch.argmax(out, dim=1)
        return (preds == yb).float().mean()

    xb = x_train[0:bs]
    preds = model(xb)
    yb = y_train[0:bs]
    facts["first"] = [preds[0], preds.shape, loss_func(preds, yb), accuracy(preds, yb)]

    losses = []
    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            with torch.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()
            losses.append(loss.item())
    facts["losses"] = losses
    facts["final"] = [loss_func(model(xb), yb), accuracy(model(xb), yb)]
    facts["weights"] = weights
    return facts


def loss_batch(model, loss_func, xb, yb, opt=None):
    """The tutorial's loss of one batch, and a step when given the optimizer."""
    loss = loss_func(model(xb), yb)
    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()
    return loss.item(), len(xb)


def fit(torch, epochs, model, loss_func, opt, train_dl, valid_dl):
    """The tutorial's fit: train each epoch, then the validation loss; those losses."""
    history = []
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)
        model.eval()
        with torch.no_grad():
            losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
        print(epoch, val_loss)
        history.append(float(val_loss))
    return history


def refactored(torch, shared, epochs=2, bs=64, lr=0.5):
    nn = torch.nn
    F = torch.nn.functional
    optim = torch.optim
    TensorDataset = torch.utils.data.TensorDataset
    DataLoader = torch.utils.data.DataLoader

    x_train, y_train, x_valid, y_valid = map(torch.tensor, _mnist_arrays(shared))
    loss_func = F.cross_entropy

    class Mnist_Logistic(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.Parameter(torch.randn(784, 10) / math.sqrt(784))
            self.bias = nn.Parameter(torch.zeros(10))

        def forward(self, xb):
            return xb @ self.weights + self.bias

    model = Mnist_Logistic()
    shared.load(torch, model, "logistic", randn=("weights",))
    with torch.no_grad():
        model.weights /= math.sqrt(784)
    n = x_train.shape[0]

    def fit_manual():
        for epoch in range(epochs):
            for i in range((n - 1) // bs + 1):
                xb = x_train[i * bs: i * bs + bs]
                yb = y_train[i * bs: i * bs + bs]
                loss = loss_func(model(xb), yb)
                loss.backward()
                with torch.no_grad():
                    for p in model.parameters():
                        p -= p.grad * lr
                    model.zero_grad()

    fit_manual()
    results = {"manual": model.state_dict()}

    class Mnist_Logistic2(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(784, 10)

        def forward(self, xb):
            return self.lin(xb)

    def get_model():
        model = Mnist_Logistic2()
        shared.load(torch, model, "logistic2")
        return model, optim.SGD(model.parameters(), lr=lr)

    train_ds = TensorDataset(x_train, y_train)
    valid_ds = TensorDataset(x_valid, y_valid)

    def get_data(train_ds, valid_ds, bs):
        return (
            DataLoader(train_ds, batch_size=bs, shuffle=False),
            DataLoader(valid_ds, batch_size=bs * 2),
        )


    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    model, opt = get_model()
    history = fit(torch, epochs, model, loss_func, opt, train_dl, valid_dl)
    results["linear"] = model.state_dict()
    results["history"] = history
    return results


def cnn(torch, shared, epochs=2, bs=32, lr=0.1):
    """The tutorial's CNN: ``view(-1, 1, 28, 28)``, stride-2 convolutions,
    ``F.avg_pool2d(xb, 4)``, a Lambda module, AdaptiveAvgPool2d, momentum SGD, and the
    DataLoader wrapped in a generator that preprocesses each batch."""
    nn = torch.nn
    F = torch.nn.functional
    optim = torch.optim
    TensorDataset = torch.utils.data.TensorDataset
    DataLoader = torch.utils.data.DataLoader

    x_train, y_train, x_valid, y_valid = map(torch.tensor, _mnist_arrays(shared, 96, 64))
    loss_func = F.cross_entropy
    history = []

    class Mnist_CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)
            self.conv2 = nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1)
            self.conv3 = nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1)

        def forward(self, xb):
            xb = xb.view(-1, 1, 28, 28)
            xb = F.relu(self.conv1(xb))
            xb = F.relu(self.conv2(xb))
            xb = F.relu(self.conv3(xb))
            xb = F.avg_pool2d(xb, 4)
            return xb.view(-1, xb.size(1))

    class Lambda(nn.Module):
        def __init__(self, func):
            super().__init__()
            self.func = func

        def forward(self, x):
            return self.func(x)

    def preprocess(x, y):
        return x.view(-1, 1, 28, 28), y

    class WrappedDataLoader:
        def __init__(self, dl, func):
            self.dl = dl
            self.func = func

        def __len__(self):
            return len(self.dl)

        def __iter__(self):
            for b in self.dl:
                yield (self.func(*b))



    train_ds = TensorDataset(x_train, y_train)
    valid_ds = TensorDataset(x_valid, y_valid)
    train_dl = DataLoader(train_ds, batch_size=bs)
    valid_dl = DataLoader(valid_ds, batch_size=bs * 2)

    model = Mnist_CNN()
    shared.load(torch, model, "mnist_cnn")
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    history += fit(torch, epochs, model, loss_func, opt, train_dl, valid_dl)
    results = {"cnn": model.state_dict()}

    model = nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )
    shared.load(torch, model, "mnist_cnn_seq")
    train_dl = WrappedDataLoader(DataLoader(train_ds, batch_size=bs), preprocess)
    valid_dl = WrappedDataLoader(DataLoader(valid_ds, batch_size=bs * 2), preprocess)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    history += fit(torch, epochs, model, loss_func, opt, train_dl, valid_dl)
    results["sequential"] = model.state_dict()
    results["history"] = history
    return results
