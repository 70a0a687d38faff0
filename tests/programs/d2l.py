"""Dive into Deep Learning (d2l.ai), old and new editions: models written from scratch
(linear and softmax regression, MLP, dropout, batch normalisation) and concise ones
(LeNet with Xavier init through ``net.apply``, lazy layers materialised by a dummy batch).

Random data of FashionMNIST's shape stands in for the dataset; d2l's helpers
(``Accumulator``, ``accuracy``, ``sgd``, ``train_epoch_ch3``, the Trainer's step) are
written out as the book has them, so each program is self-contained.
"""
import math
import random


def _fashion(torch, shared, name, n):
    """(images, labels) of FashionMNIST's shape, as d2l's loader yields them."""
    X = torch.from_numpy(shared.uniform(f"{name}_X", (n, 1, 28, 28)))
    y = torch.from_numpy(shared.labels(f"{name}_y", n, 10))
    return X, y


class Accumulator:
    """d2l's: for accumulating sums over n variables."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def sgd(torch, params, lr, batch_size):
    """d2l's minibatch SGD, written once in its library and used by every scratch model:
    in place, under no_grad, then the gradient zeroed."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def linear_regression_scratch(torch, shared, num_epochs=3):
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2

    def synthetic_data(w, b, num_examples):
        """y = Xw + b + noise; the draws come from the shared generator."""
        X = torch.from_numpy(shared.randn("X", (num_examples, len(w))))
        y = torch.matmul(X, w) + b
        y += torch.from_numpy(shared.randn("noise", tuple(y.shape), 0.01))
        return X, y.reshape((-1, 1))

    features, labels = synthetic_data(true_w, true_b, 200)
    print("features:", features[0], "\nlabel:", labels[0])

    order = random.Random(0)

    def data_iter(batch_size, features, labels):
        num_examples = len(features)
        indices = list(range(num_examples))
        order.shuffle(indices)
        for i in range(0, num_examples, batch_size):
            batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
            yield features[batch_indices], labels[batch_indices]

    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    drawn = {"shape": w.shape, "requires_grad": w.requires_grad, "leaf": w.is_leaf}
    w = torch.tensor(shared.randn("w", (2, 1), 0.01), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)

    def linreg(X, w, b):
        return torch.matmul(X, w) + b

    def squared_loss(y_hat, y):
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

    lr = 0.03
    batch_size = 10
    net = linreg
    loss = squared_loss
    epoch_losses = []
    for epoch in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels):
            l = loss(net(X, w, b), y)
            l.sum().backward()
            sgd(torch, [w, b], lr, batch_size)
        with torch.no_grad():
            train_l = loss(net(features, w, b), labels)
            print(f"epoch {epoch + 1}, loss {float(train_l.mean()):f}")
            epoch_losses.append(float(train_l.mean()))
    print(f"error in estimating w: {true_w - w.reshape(true_w.shape)}")
    print(f"error in estimating b: {true_b - b}")
    return {"drawn": drawn, "losses": epoch_losses, "w": w, "b": b,
            "w_error": true_w - w.reshape(true_w.shape), "b_error": true_b - b}


def linear_regression_concise(torch, shared, num_epochs=3):
    nn = torch.nn
    data = torch.utils.data

    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features = torch.from_numpy(shared.randn("X", (200, 2)))
    labels = (torch.matmul(features, true_w) + true_b).reshape((-1, 1))

    def load_array(data_arrays, batch_size, is_train=True):
        dataset = data.TensorDataset(*data_arrays)
        return data.DataLoader(dataset, batch_size, shuffle=is_train)

    data_iter = load_array((features, labels), 10, is_train=False)
    first = next(iter(data_iter))

    net = nn.Sequential(nn.Linear(2, 1))
    net[0].weight.data.normal_(0, 0.01)
    net[0].bias.data.fill_(0)
    init_ok = [net[0].bias.abs().sum().item() == 0.0, bool((net[0].weight.abs() < 0.1).all())]
    net[0].weight.data = torch.from_numpy(shared.randn("w", (1, 2), 0.01))

    loss = nn.MSELoss()
    trainer = torch.optim.SGD(net.parameters(), lr=0.03)
    losses = []
    for epoch in range(num_epochs):
        for X, y in data_iter:
            l = loss(net(X), y)
            trainer.zero_grad()
            l.backward()
            trainer.step()
        l = loss(net(features), labels)
        print(f"epoch {epoch + 1}, loss {l:f}")
        losses.append(l.item())
    w = net[0].weight.data
    b = net[0].bias.data
    return {"first": first, "init_ok": init_ok, "losses": losses,
            "w_error": true_w - w.reshape(true_w.shape), "b_error": true_b - b}


def softmax_regression_scratch(torch, shared, num_epochs=2, n=256, batch_size=64):
    data = torch.utils.data
    train_iter = data.DataLoader(data.TensorDataset(*_fashion(torch, shared, "train", n)),
                                 batch_size, shuffle=False)
    test_iter = data.DataLoader(data.TensorDataset(*_fashion(torch, shared, "test", n // 2)),
                                batch_size, shuffle=False)

    num_inputs = 784
    num_outputs = 10
    W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
    drawn = {"shape": W.shape, "is_float32": W.dtype == torch.float32,
             "small": bool(W.abs().max() < 0.1)}
    W = torch.tensor(shared.randn("W", (num_inputs, num_outputs), 0.01), requires_grad=True)
    b = torch.zeros(num_outputs, requires_grad=True)

    X = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    sums = [X.sum(0, keepdim=True), X.sum(1, keepdim=True)]

    def softmax(X):
        X_exp = torch.exp(X)
        partition = X_exp.sum(1, keepdim=True)
        return X_exp / partition

    X_prob = softmax(torch.from_numpy(shared.randn("X_prob", (2, 5))))
    row_sums = X_prob.sum(1)

    def net(X):
        return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    y = torch.tensor([0, 2])
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    picked = y_hat[[0, 1], y]

    def cross_entropy(y_hat, y):
        return - torch.log(y_hat[range(len(y_hat)), y])

    def accuracy(y_hat, y):
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())

    def evaluate_accuracy(net, data_iter):
        if isinstance(net, torch.nn.Module):
            net.eval()
        metric = Accumulator(2)
        with torch.no_grad():
            for X, y in data_iter:
                metric.add(accuracy(net(X), y), y.numel())
        return metric[0] / metric[1]

    lr = 0.1

    def updater(batch_size):
        return sgd(torch, [W, b], lr, batch_size)

    def train_epoch_ch3(net, train_iter, loss, updater):
        if isinstance(net, torch.nn.Module):
            net.train()
        metric = Accumulator(3)
        for X, y in train_iter:
            y_hat = net(X)
            l = loss(y_hat, y)
            if isinstance(updater, torch.optim.Optimizer):
                updater.zero_grad()
                l.mean().backward()
                updater.step()
            else:
                l.sum().backward()
                updater(X.shape[0])
            metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
        return metric[0] / metric[2], metric[1] / metric[2]

    history = []
    for epoch in range(num_epochs):
        train_metrics = train_epoch_ch3(net, train_iter, cross_entropy, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        history.append(train_metrics + (test_acc,))
    return {"drawn": drawn, "sums": sums, "X_prob": X_prob, "row_sums": row_sums,
            "picked": picked, "ce": cross_entropy(y_hat, y), "acc": accuracy(y_hat, y) / len(y),
            "history": history, "W": W, "b": b}


def mlp_scratch(torch, shared, num_epochs=2, n=256, batch_size=64):
    """The old edition's MLP: parameters as ``nn.Parameter``, ReLU as ``torch.max(X, a)``,
    ``CrossEntropyLoss(reduction='none')``, ``torch.optim.SGD`` and ``l.mean().backward()``."""
    nn = torch.nn
    data = torch.utils.data
    train_iter = data.DataLoader(data.TensorDataset(*_fashion(torch, shared, "train", n)),
                                 batch_size)

    num_inputs, num_outputs, num_hiddens = 784, 10, 256
    W1 = nn.Parameter(torch.randn(num_inputs, num_hiddens, requires_grad=True) * 0.01)
    drawn = {"is_parameter": isinstance(W1, nn.Parameter), "requires_grad": W1.requires_grad}
    W1 = nn.Parameter(torch.from_numpy(shared.randn("W1", (num_inputs, num_hiddens), 0.01)))
    b1 = nn.Parameter(torch.zeros(num_hiddens, requires_grad=True))
    W2 = nn.Parameter(torch.from_numpy(shared.randn("W2", (num_hiddens, num_outputs), 0.01)))
    b2 = nn.Parameter(torch.zeros(num_outputs, requires_grad=True))
    params = [W1, b1, W2, b2]

    def relu(X):
        a = torch.zeros_like(X)
        return torch.max(X, a)

    def net(X):
        X = X.reshape((-1, num_inputs))
        H = relu(X @ W1 + b1)
        return (H @ W2 + b2)

    loss = nn.CrossEntropyLoss(reduction="none")
    updater = torch.optim.SGD(params, lr=0.1)
    history = []
    for epoch in range(num_epochs):
        metric = Accumulator(3)
        for X, y in train_iter:
            y_hat = net(X)
            l = loss(y_hat, y)
            updater.zero_grad()
            l.mean().backward()
            updater.step()
            correct = float((y_hat.argmax(axis=1).type(y.dtype) == y).type(y.dtype).sum())
            metric.add(float(l.sum()), correct, y.numel())
        history.append((metric[0] / metric[2], metric[1] / metric[2]))
    return {"drawn": drawn, "relu": relu(torch.tensor([-1.0, 0.0, 2.0])),
            "history": history, "params": params}


def mlp_scratch_new(torch, shared, num_epochs=2, n=256, batch_size=64):
    """The new edition's MLPScratch: a Module holding raw parameters, trained by a
    from-scratch SGD class; backward and step run under ``no_grad`` as d2l's Trainer does;
    softmax with ``keepdims=True`` and cross-entropy by fancy indexing."""
    nn = torch.nn
    data = torch.utils.data
    train_iter = data.DataLoader(data.TensorDataset(*_fashion(torch, shared, "train", n)),
                                 batch_size)

    def relu(X):
        a = torch.zeros_like(X)
        return torch.max(X, a)

    class MLPScratch(nn.Module):
        def __init__(self, num_inputs, num_outputs, num_hiddens, lr, sigma=0.01):
            super().__init__()
            self.num_inputs, self.lr = num_inputs, lr
            self.W1 = nn.Parameter(torch.randn(num_inputs, num_hiddens) * sigma)
            self.b1 = nn.Parameter(torch.zeros(num_hiddens))
            self.W2 = nn.Parameter(torch.randn(num_hiddens, num_outputs) * sigma)
            self.b2 = nn.Parameter(torch.zeros(num_outputs))

        def forward(self, X):
            X = X.reshape((-1, self.num_inputs))
            H = relu(torch.matmul(X, self.W1) + self.b1)
            return torch.matmul(H, self.W2) + self.b2

    def softmax(X):
        X_exp = torch.exp(X)
        partition = X_exp.sum(1, keepdims=True)
        return X_exp / partition

    def cross_entropy(y_hat, y):
        return -torch.log(y_hat[list(range(len(y_hat))), y]).mean()

    class SGD:
        def __init__(self, params, lr):
            self.params, self.lr = params, lr

        def step(self):
            for param in self.params:
                param -= self.lr * param.grad

        def zero_grad(self):
            for param in self.params:
                if param.grad is not None:
                    param.grad.zero_()

    model = MLPScratch(num_inputs=784, num_outputs=10, num_hiddens=256, lr=0.1)
    shared.load(torch, model, "mlp_new", randn=())
    with torch.no_grad():
        model.W1.copy_(torch.from_numpy(shared.randn("W1", (784, 256), 0.01)))
        model.W2.copy_(torch.from_numpy(shared.randn("W2", (256, 10), 0.01)))
    optim = SGD([model.W1, model.b1, model.W2, model.b2], model.lr)
    losses = []
    for epoch in range(num_epochs):
        model.train()
        for X, Y in train_iter:
            loss = cross_entropy(softmax(model(X)), Y)
            optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                optim.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            Y_hat = model(X)
            preds = Y_hat.argmax(axis=1).type(Y.dtype)
            compare = (preds == Y.reshape(-1)).type(torch.float32)
            losses.append(compare.mean().item())
    return {"losses": losses, "state": model.state_dict()}


def dropout_scratch(torch, shared, dropout1=0.2, dropout2=0.5, num_epochs=2, n=128,
                    batch_size=32):
    """``dropout_layer`` from scratch, and an MLP that applies it only in training."""
    nn = torch.nn
    data = torch.utils.data

    def dropout_layer(X, dropout):
        assert 0 <= dropout <= 1
        if dropout == 1:
            return torch.zeros_like(X)
        if dropout == 0:
            return X
        mask = (torch.rand(X.shape) > dropout).float()
        return mask * X / (1.0 - dropout)

    X = torch.arange(16, dtype=torch.float32).reshape((2, 8))
    fixed = [dropout_layer(X, 0.), dropout_layer(X, 1.)]
    half = dropout_layer(X, 0.5)
    # What holds whatever the draw: each entry is dropped or scaled by 1 / (1 - p).
    kept = half != 0
    invariants = [bool(((half == 0) | (half == 2 * X)).all()), half.shape == X.shape,
                  half.dtype == torch.float32]
    big = dropout_layer(torch.ones(200, 50), 0.3)
    fraction_kept = float((big != 0).float().mean())
    invariants.append(0.65 < fraction_kept < 0.75)
    invariants.append(bool(kept[0, 0] | ~kept[0, 0]))

    class Net(nn.Module):
        def __init__(self, num_inputs, num_outputs, num_hiddens1, num_hiddens2,
                     is_training=True):
            super(Net, self).__init__()
            self.num_inputs = num_inputs
            self.training = is_training
            self.lin1 = nn.Linear(num_inputs, num_hiddens1)
            self.lin2 = nn.Linear(num_hiddens1, num_hiddens2)
            self.lin3 = nn.Linear(num_hiddens2, num_outputs)
            self.relu = nn.ReLU()

        def forward(self, X):
            H1 = self.relu(self.lin1(X.reshape((-1, self.num_inputs))))
            if self.training == True:  # noqa: E712 - the book's spelling
                H1 = dropout_layer(H1, dropout1)
            H2 = self.relu(self.lin2(H1))
            if self.training == True:  # noqa: E712
                H2 = dropout_layer(H2, dropout2)
            out = self.lin3(H2)
            return out

    net = Net(784, 10, 256, 256)
    shared.load(torch, net, "dropout_net")
    train_iter = data.DataLoader(data.TensorDataset(*_fashion(torch, shared, "train", n)),
                                 batch_size)
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=0.5)
    losses = []
    for epoch in range(num_epochs):
        for X, y in train_iter:
            l = loss(net(X), y)
            trainer.zero_grad()
            l.mean().backward()
            trainer.step()
            losses.append(l.mean().item())
    net.eval()
    with torch.no_grad():
        evaluated = net(X)
    result = {"fixed": fixed, "invariants": invariants, "evaluated_shape": evaluated.shape,
              "finite": math.isfinite(float(evaluated.sum()))}
    if dropout1 == 0 and dropout2 == 0:
        # Without masks the two runs are comparable number for number.
        result.update(losses=losses, evaluated=evaluated, state=net.state_dict())
    return result


def dropout_concise(torch, shared, num_epochs=2, n=128, batch_size=32):
    """``nn.Dropout`` in an ``nn.Sequential``, ``init_weights`` by ``net.apply``; in
    ``eval()`` the dropout layers are the identity, so evaluation compares exactly."""
    nn = torch.nn
    data = torch.utils.data
    dropout1, dropout2 = 0.2, 0.5
    net = nn.Sequential(nn.Flatten(),
                        nn.Linear(784, 256),
                        nn.ReLU(),
                        nn.Dropout(dropout1),
                        nn.Linear(256, 256),
                        nn.ReLU(),
                        nn.Dropout(dropout2),
                        nn.Linear(256, 10))

    def init_weights(m):
        if type(m) == nn.Linear:
            nn.init.normal_(m.weight, std=0.01)

    net.apply(init_weights)
    init_ok = [bool(net[1].weight.std() < 0.02), bool(net[1].weight.std() > 0.005)]
    shared.load(torch, net, "dropout_concise")

    X, y = _fashion(torch, shared, "test", n)
    net.eval()
    with torch.no_grad():
        before = net(X)
    net.train()
    train_iter = data.DataLoader(data.TensorDataset(*_fashion(torch, shared, "train", n)),
                                 batch_size)
    trainer = torch.optim.SGD(net.parameters(), lr=0.5)
    loss = nn.CrossEntropyLoss(reduction="none")
    finite = True
    for epoch in range(num_epochs):
        for X_batch, y_batch in train_iter:
            l = loss(net(X_batch), y_batch)
            trainer.zero_grad()
            l.mean().backward()
            trainer.step()
            finite = finite and math.isfinite(float(l.sum()))
    net.eval()
    with torch.no_grad():
        again = net(X[:4])
        twice = net(X[:4])
    return {"init_ok": init_ok, "before": before, "finite": finite,
            "eval_is_deterministic": bool((again == twice).all()),
            "training_flags": [m.training for m in net]}


def lenet(torch, shared, num_epochs=2, n=64, batch_size=32, lr=0.9):
    """The old edition's LeNet: sigmoids, AvgPool2d, a 5x5 convolution with padding 2,
    Xavier init by ``net.apply``, ``evaluate_accuracy_gpu`` and ``train_ch6``."""
    nn = torch.nn
    data = torch.utils.data
    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))

    X = torch.rand(size=(1, 1, 28, 28), dtype=torch.float32)
    shapes = []
    for layer in net:
        X = layer(X)
        print(layer.__class__.__name__, "output shape: \t", X.shape)
        shapes.append((layer.__class__.__name__, X.shape))

    def evaluate_accuracy_gpu(net, data_iter, device=None):
        if isinstance(net, nn.Module):
            net.eval()
            if not device:
                device = next(iter(net.parameters())).device
        metric = Accumulator(2)
        with torch.no_grad():
            for X, y in data_iter:
                if isinstance(X, list):
                    X = [x.to(device) for x in X]
                else:
                    X = X.to(device)
                y = y.to(device)
                metric.add(accuracy(net(X), y), y.numel())
        return metric[0] / metric[1]

    def accuracy(y_hat, y):
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())

    xavier_ok = []

    def init_weights(m):
        if type(m) == nn.Linear or type(m) == nn.Conv2d:
            nn.init.xavier_uniform_(m.weight)
            fan_out, fan_in = m.weight.shape[0], m.weight[0].numel()
            receptive = m.weight[0, 0].numel() if m.weight.dim() > 2 else 1
            bound = (6 / (fan_in + fan_out * receptive)) ** 0.5
            xavier_ok.append(bool((m.weight.abs() <= bound).all()))

    train_iter = data.DataLoader(data.TensorDataset(*_fashion(torch, shared, "train", n)),
                                 batch_size)
    test_iter = data.DataLoader(data.TensorDataset(*_fashion(torch, shared, "test", n)),
                                batch_size)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    net.apply(init_weights)
    shared.load(torch, net, "lenet")
    net.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    history = []
    for epoch in range(num_epochs):
        metric = Accumulator(3)
        net.train()
        for i, (X, y) in enumerate(train_iter):
            optimizer.zero_grad()
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)
            l.backward()
            optimizer.step()
            with torch.no_grad():
                metric.add(l * X.shape[0], accuracy(y_hat, y), X.shape[0])
        train_l = metric[0] / metric[2]
        train_acc = metric[1] / metric[2]
        test_acc = evaluate_accuracy_gpu(net, test_iter)
        history.append((train_l, train_acc, test_acc))
    print(f"loss {train_l:.3f}, train acc {train_acc:.3f}, test acc {test_acc:.3f}")
    return {"shapes": shapes, "xavier_ok": xavier_ok, "history": history,
            "state": net.state_dict()}


def train_ch6(torch, net, train_iter, num_epochs, lr):
    """d2l's training loop of its convolutional chapters (both batch-norm sections use
    it): SGD on cross-entropy; the minibatch losses and the last batch."""
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = torch.nn.CrossEntropyLoss()
    losses = []
    for epoch in range(num_epochs):
        net.train()
        for X, y in train_iter:
            optimizer.zero_grad()
            l = loss(net(X), y)
            l.backward()
            optimizer.step()
            losses.append(l.item())
    return losses, X


def batch_norm_scratch(torch, shared, num_epochs=2, n=64, batch_size=32, lr=1.0):
    """Batch normalisation from scratch inside LeNet: ``torch.is_grad_enabled()`` picks
    training or inference statistics, moving averages kept as plain tensors through
    ``.data``, means over ``dim=(0, 2, 3)`` with ``keepdim=True``."""
    nn = torch.nn
    data = torch.utils.data

    def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
        if not torch.is_grad_enabled():
            X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
        else:
            assert len(X.shape) in (2, 4)
            if len(X.shape) == 2:
                mean = X.mean(dim=0)
                var = ((X - mean) ** 2).mean(dim=0)
            else:
                mean = X.mean(dim=(0, 2, 3), keepdim=True)
                var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
            X_hat = (X - mean) / torch.sqrt(var + eps)
            moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
            moving_var = (1.0 - momentum) * moving_var + momentum * var
        Y = gamma * X_hat + beta
        return Y, moving_mean.data, moving_var.data

    class BatchNorm(nn.Module):
        def __init__(self, num_features, num_dims):
            super().__init__()
            if num_dims == 2:
                shape = (1, num_features)
            else:
                shape = (1, num_features, 1, 1)
            self.gamma = nn.Parameter(torch.ones(shape))
            self.beta = nn.Parameter(torch.zeros(shape))
            self.moving_mean = torch.zeros(shape)
            self.moving_var = torch.ones(shape)

        def forward(self, X):
            if self.moving_mean.device != X.device:
                self.moving_mean = self.moving_mean.to(X.device)
                self.moving_var = self.moving_var.to(X.device)
            Y, self.moving_mean, self.moving_var = batch_norm(
                X, self.gamma, self.beta, self.moving_mean,
                self.moving_var, eps=1e-5, momentum=0.1)
            return Y

    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), BatchNorm(6, num_dims=4), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), BatchNorm(16, num_dims=4), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120), BatchNorm(120, num_dims=2), nn.Sigmoid(),
        nn.Linear(120, 84), BatchNorm(84, num_dims=2), nn.Sigmoid(),
        nn.Linear(84, 10))
    shared.load(torch, net, "bn_scratch")
    keys = list(net.state_dict())

    train_iter = data.DataLoader(data.TensorDataset(*_fashion(torch, shared, "train", n)),
                                 batch_size)
    losses, X = train_ch6(torch, net, train_iter, num_epochs, lr)

    moving = [net[1].moving_mean, net[1].moving_var, net[9 + 1].moving_mean]
    moving_leaf = [m.requires_grad for m in moving]
    with torch.no_grad():
        inference = net(X)

    # The same update through assignment to ``.data``, as other versions write it.
    stats = torch.zeros(1, 3)
    batch = torch.from_numpy(shared.randn("stats", (4, 3)))
    stats.data = 0.9 * stats + 0.1 * batch.mean(dim=0, keepdim=True)
    return {"keys": keys, "losses": losses, "moving": moving, "moving_leaf": moving_leaf,
            "gamma": net[1].gamma.reshape((-1,)), "beta": net[1].beta.reshape((-1,)),
            "inference": inference, "stats": stats, "state": net.state_dict()}


def batch_norm_concise(torch, shared, num_epochs=2, n=64, batch_size=32, lr=1.0):
    """The same LeNet with ``nn.BatchNorm2d``/``nn.BatchNorm1d``: running statistics and
    ``num_batches_tracked`` in the state dict, ``eval()`` switching to them."""
    nn = torch.nn
    data = torch.utils.data
    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), nn.BatchNorm2d(6), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(256, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(),
        nn.Linear(84, 10))
    shared.load(torch, net, "bn_concise")
    train_iter = data.DataLoader(data.TensorDataset(*_fashion(torch, shared, "train", n)),
                                 batch_size)
    losses, X = train_ch6(torch, net, train_iter, num_epochs, lr)
    net.eval()
    with torch.no_grad():
        inference = net(X)
    return {"keys": list(net.state_dict()), "losses": losses, "inference": inference,
            "state": net.state_dict(), "buffers": [name for name, _ in net.named_buffers()]}


def lazy_lenet(torch, shared, num_epochs=2, n=64, batch_size=32, lr=0.1, bn=True,
               gradient_clip_val=1.0):
    """The new edition: LeNet (with batch norm, ``BNLeNet``) of ``LazyConv2d``,
    ``LazyBatchNorm2d`` and ``LazyLinear``, shaped by one dummy batch (``apply_init``),
    initialised by ``net.apply(init_cnn)``; the Trainer's step runs ``backward`` under
    ``no_grad`` and clips gradients with ``param.grad[:] *= ...``."""
    nn = torch.nn
    F = torch.nn.functional
    data = torch.utils.data

    def init_cnn(module):
        if type(module) == nn.Linear or type(module) == nn.Conv2d:
            nn.init.xavier_uniform_(module.weight)

    if bn:
        net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5), nn.LazyBatchNorm2d(),
            nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
            nn.LazyConv2d(16, kernel_size=5), nn.LazyBatchNorm2d(),
            nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(), nn.LazyLinear(120), nn.LazyBatchNorm1d(),
            nn.Sigmoid(), nn.LazyLinear(84), nn.LazyBatchNorm1d(),
            nn.Sigmoid(), nn.LazyLinear(10))
    else:
        net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5, padding=2), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.LazyConv2d(16, kernel_size=5), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.LazyLinear(120), nn.Sigmoid(),
            nn.LazyLinear(84), nn.Sigmoid(),
            nn.LazyLinear(10))

    train_iter = data.DataLoader(data.TensorDataset(*_fashion(torch, shared, "train", n)),
                                 batch_size)
    # apply_init: one forward pass with a real batch gives every lazy layer its shape.
    net(next(iter(train_iter))[0])
    net.apply(init_cnn)
    classes = [type(m).__name__ for m in net]
    xavier_ok = [bool((m.weight.abs() <= (6 / (m.weight.shape[0] * m.weight[0, 0].numel()
                                               + m.weight[0].numel())) ** 0.5).all())
                 for m in net if type(m) == nn.Linear or type(m) == nn.Conv2d]
    shared.load(torch, net, "lazy_lenet")

    X = torch.randn(1, 1, 28, 28)
    summary = []
    net.eval()
    for layer in net:
        X = layer(X)
        summary.append((layer.__class__.__name__, X.shape))

    def accuracy(Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        preds = Y_hat.argmax(axis=1).type(Y.dtype)
        compare = (preds == Y.reshape(-1)).type(torch.float32)
        return compare.mean() if averaged else compare

    def loss_fn(Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        Y = Y.reshape((-1,))
        return F.cross_entropy(Y_hat, Y, reduction="mean" if averaged else "none")

    def clip_gradients(grad_clip_val, model):
        params = [p for p in model.parameters() if p.requires_grad]
        norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
        if norm > grad_clip_val:
            for param in params:
                param.grad[:] *= grad_clip_val / norm
        return norm

    optim = torch.optim.SGD(net.parameters(), lr=lr)
    losses, norms, accs = [], [], []
    for epoch in range(num_epochs):
        net.train()
        for batch in train_iter:
            loss = loss_fn(net(batch[0]), batch[-1])
            optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                if gradient_clip_val > 0:
                    norms.append(float(clip_gradients(gradient_clip_val, net)))
                optim.step()
            losses.append(loss.item())
        net.eval()
        with torch.no_grad():
            accs.append(accuracy(net(batch[0]), batch[-1]).item())
    return {"classes": classes, "xavier_ok": xavier_ok, "summary": summary,
            "losses": losses, "norms": norms, "accs": accs, "state": net.state_dict()}


def residual(torch, shared, steps=3):
    """d2l's ResNet block: ``Y += X`` adds the shortcut in place after batch norm."""
    nn = torch.nn
    F = torch.nn.functional

    class Residual(nn.Module):
        def __init__(self, num_channels, use_1x1conv=False, strides=1):
            super().__init__()
            self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1,
                                       stride=strides)
            self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
            if use_1x1conv:
                self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides)
            else:
                self.conv3 = None
            self.bn1 = nn.LazyBatchNorm2d()
            self.bn2 = nn.LazyBatchNorm2d()

        def forward(self, X):
            Y = F.relu(self.bn1(self.conv1(X)))
            Y = self.bn2(self.conv2(Y))
            if self.conv3:
                X = self.conv3(X)
            Y += X
            return F.relu(Y)

    net = nn.Sequential(Residual(3), Residual(6, use_1x1conv=True, strides=2),
                        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.LazyLinear(10))
    X = torch.from_numpy(shared.randn("X", (4, 3, 6, 6)))
    y = torch.from_numpy(shared.labels("y", 4, 10))
    shapes = [net[0](X).shape, net[1](X).shape]
    net(X)
    shared.load(torch, net, "residual")
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(net(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {"shapes": shapes, "losses": losses, "state": net.state_dict()}


def builders_guide(torch, shared, tmpdir):
    """The "Builders' Guide" chapter: a hand-written Sequential (``add_module``,
    ``children``), a module with a constant weight and Python control flow, parameter
    access and tied parameters, built-in and custom initialisation through ``apply``,
    custom layers, saving tensors, lists and dicts, and the GPU helpers."""
    nn = torch.nn
    F = torch.nn.functional
    out = {}

    class MySequential(nn.Module):
        def __init__(self, *args):
            super().__init__()
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

        def forward(self, X):
            for module in self.children():
                X = module(X)
            return X

    X = torch.from_numpy(shared.uniform("X", (2, 20)))
    net = MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
    shared.load(torch, net, "mysequential")
    out["mysequential"] = [net(X), list(net.state_dict())]

    class FixedHiddenMLP(nn.Module):
        def __init__(self, rand_weight):
            super().__init__()
            self.rand_weight = rand_weight      # a constant: not a parameter
            self.linear = nn.Linear(20, 20)

        def forward(self, X):
            X = self.linear(X)
            X = F.relu(X @ self.rand_weight + 1)
            X = self.linear(X)
            while X.abs().sum() > 1:
                X /= 2
            return X.sum()

    fixed = FixedHiddenMLP(torch.from_numpy(shared.uniform("rand_weight", (20, 20))))
    shared.load(torch, fixed, "fixed")
    out["fixed"] = [fixed(X), [name for name, _ in fixed.named_parameters()]]

    net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1))
    net(X)
    shared.load(torch, net, "params")
    print(net[2].state_dict())
    out["access"] = [net[2].state_dict(), type(net[2].bias).__name__, net[2].bias.data,
                     net[2].weight.grad == None,  # noqa: E711 - the book's spelling
                     [(name, param.shape) for name, param in net.named_parameters()],
                     net.state_dict()["2.bias"].data]

    shared_layer = nn.LazyLinear(8)
    tied = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), shared_layer, nn.ReLU(),
                         shared_layer, nn.ReLU(), nn.LazyLinear(1))
    tied(X)
    shared.load(torch, tied, "tied")
    same_before = bool((tied[2].weight.data[0] == tied[4].weight.data[0]).all())
    tied[2].weight.data[0, 0] = 100
    out["tied"] = [same_before, bool((tied[2].weight.data[0] == tied[4].weight.data[0]).all()),
                   tied[4].weight[0, 0].item(), len(list(tied.parameters())),
                   list(tied.state_dict())]

    def init_normal(module):
        if type(module) == nn.Linear:
            nn.init.normal_(module.weight, mean=0, std=0.01)
            nn.init.zeros_(module.bias)

    def init_constant(module):
        if type(module) == nn.Linear:
            nn.init.constant_(module.weight, 1)
            nn.init.zeros_(module.bias)

    def init_42(module):
        if type(module) == nn.Linear:
            nn.init.constant_(module.weight, 42)

    def my_init(module):
        if type(module) == nn.Linear:
            nn.init.uniform_(module.weight, -10, 10)
            module.weight.data *= module.weight.data.abs() >= 5

    net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1))
    net(X)
    net.apply(init_normal)
    normal_ok = [bool(net[0].weight.std() < 0.05), net[0].bias.data[0].item()]
    net.apply(init_constant)
    constant = [net[0].weight.data[0].clone(), net[0].bias.data[0].clone()]
    net[0].apply(init_normal)
    net[2].apply(init_42)
    mixed = [net[2].weight.data[0].clone(), bool(net[0].weight.abs().max() < 1)]
    net.apply(my_init)
    w = net[0].weight
    custom_ok = bool(((w == 0) | (w.abs() >= 5)).all()) and bool((w.abs() <= 10).all())
    net[0].weight.data[:] += 1
    net[0].weight.data[0, 0] = 42
    out["init"] = [normal_ok, constant, mixed, custom_ok, net[0].weight.data[0, 0].item()]

    class CenteredLayer(nn.Module):
        def __init__(self):
            super().__init__()

        def forward(self, X):
            return X - X.mean()

    class MyLinear(nn.Module):
        def __init__(self, in_units, units):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(in_units, units))
            self.bias = nn.Parameter(torch.randn(units,))

        def forward(self, X):
            linear = torch.matmul(X, self.weight.data) + self.bias.data
            return F.relu(linear)

    layer = CenteredLayer()
    centered = layer(torch.tensor([1.0, 2, 3, 4, 5]))
    net = nn.Sequential(nn.LazyLinear(128), CenteredLayer())
    Y = net(torch.from_numpy(shared.uniform("Y", (4, 8))))
    linear = MyLinear(5, 3)
    shared.load(torch, linear, "mylinear", randn=("weight", "bias"))
    out["custom"] = [centered, abs(Y.mean().item()) < 1e-5, linear.weight,
                     linear(torch.from_numpy(shared.uniform("Z", (2, 5))))]

    x = torch.arange(4)
    torch.save(x, str(tmpdir / "x-file"))
    x2 = torch.load(str(tmpdir / "x-file"))
    y = torch.zeros(4)
    torch.save([x, y], str(tmpdir / "x-files"))
    x2, y2 = torch.load(str(tmpdir / "x-files"))
    mydict = {"x": x, "y": y}
    torch.save(mydict, str(tmpdir / "mydict"))
    mydict2 = torch.load(str(tmpdir / "mydict"))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.LazyLinear(256)
            self.output = nn.LazyLinear(10)

        def forward(self, x):
            return self.output(F.relu(self.hidden(x)))

    net = MLP()
    X = torch.from_numpy(shared.randn("X_io", (2, 20)))
    Y = net(X)
    torch.save(net.state_dict(), str(tmpdir / "mlp.params"))
    clone = MLP()
    clone.load_state_dict(torch.load(str(tmpdir / "mlp.params")))
    clone.eval()
    Y_clone = clone(X)
    out["io"] = [x2, y2, mydict2, bool((Y_clone == Y).all())]

    def try_gpu(i=0):
        if torch.cuda.device_count() >= i + 1:
            return torch.device(f"cuda:{i}")
        return torch.device("cpu")

    def try_all_gpus():
        return [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]

    x = torch.tensor([1, 2, 3])
    X = torch.ones(2, 3, device=try_gpu())
    out["gpu"] = [str(torch.device("cpu")), torch.cuda.device_count(), str(try_gpu()),
                  str(try_gpu(10)), try_all_gpus(), str(x.device), str(X.device),
                  x.device == try_gpu()]
    return out
