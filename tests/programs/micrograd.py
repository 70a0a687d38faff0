"""micrograd's tests compare its Value with torch; here the torch side of each test runs
on both frameworks. Plus the micrograd demo: a small MLP with a max-margin loss and L2
regularisation written as a Python ``sum`` over parameters."""


def sanity_check(torch, shared):
    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return {"y": y.data.item(), "x_grad": x.grad.item(), "Tensor_was_float32": torch.Tensor([1.0]).dtype == torch.float32,
            "dtype_is_double": x.dtype == torch.float64}


def _more_ops_start(torch):
    """micrograd's "more ops" test begins so: two double leaves and two results."""
    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    return a, b, a + b, a * b + b**3


def more_ops(torch, shared):
    a, b, c, d = _more_ops_start(torch)
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    return {"g": g.data.item(), "a_grad": a.grad.item(), "b_grad": b.grad.item()}


def more_ops_in_place(torch, shared):
    """micrograd's own spelling, ``c += c + 1``: in place on non-leaf tensors that the
    graph holds, which torch's autograd records (version counters check the saves)."""
    a, b, c, d = _more_ops_start(torch)
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return {"g": g.data.item(), "a_grad": a.grad.item(), "b_grad": b.grad.item()}


def unary_tensor_fns(torch, shared):
    results = []
    for name in ("tanh", "exp", "sigmoid", "relu", "log", "sqrt"):
        tensor_fn = getattr(torch.Tensor, name)
        for x in (-1., .123, 2.):
            if name in ("log", "sqrt") and x < 0:
                continue
            xt = torch.Tensor([x]).double()
            xt.requires_grad = True
            yt = tensor_fn(xt)
            yt.backward()
            results.append((name, x, yt.data.item(), xt.grad.item()))
    return {"results": results}


def reused_nodes(torch, shared):
    """A node used many times (gradients from every use add up) and a graph kept for a
    second backward with ``retain_graph``."""
    x = torch.tensor(shared.randn("x", (5,)).astype("float64"), requires_grad=True)
    y = x * x
    z = y + y * y + (y / (1 + y)).sum() * x
    loss = (z ** 2).mean()
    loss.backward(retain_graph=True)
    first = x.grad.clone()
    loss.backward()
    return {"loss": loss.item(), "first": first, "accumulated": x.grad}


def moons_mlp(torch, shared, steps=20):
    """micrograd's demo: an MLP 2-16-16-1 trained with an SVM max-margin loss."""
    nn = torch.nn
    n = 64
    X = torch.from_numpy(shared.randn("X", (n, 2)))
    y = torch.from_numpy((shared.uniform("y", (n,)) > 0.5).astype("float32") * 2 - 1)

    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                          nn.Linear(16, 1))
    shared.load(torch, model, "moons")
    print("number of parameters", sum(p.numel() for p in model.parameters()))

    def loss_fn():
        scores = model(X).squeeze(1)
        losses = (1 + -y * scores).relu()
        data_loss = losses.sum() * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum((p * p).sum() for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei > 0) for yi, scorei in zip(y, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    history = []
    for k in range(steps):
        total_loss, acc = loss_fn()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        history.append((total_loss.item(), float(acc)))
        if k % 5 == 0:
            print(f"step {k} loss {total_loss.item()}, accuracy {acc * 100}%")
    return {"history": history, "state": model.state_dict(),
            "acc_type": type(acc).__name__}
