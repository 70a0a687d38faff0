""""Learning PyTorch with Examples": fitting y = sin(x) with a third-order polynomial.

The tutorial's steps, from raw tensors with hand-written gradients up to a custom
autograd Function; each keeps the tutorial's idioms (``linspace``, ``pow``, in-place
``-=`` under ``no_grad``, ``a.grad = None``, ``nn.Sequential`` with ``Flatten(0, 1)``,
``MSELoss(reduction='sum')``, ``RMSprop``, a custom ``nn.Module``, ``ctx.save_for_backward``).
Fewer steps than the tutorial's 2000, so the suite stays fast.
"""
import math
import random


def _dtype(torch, precision):
    return torch.float if precision == "float" else torch.double


def _sine_with_powers(torch, dtype):
    """The tutorial's data: 2000 points x in [-pi, pi], y = sin(x), and the features
    (x, x^2, x^3) of its nn versions."""
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    return x, torch.sin(x), x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))


def _train(model, inputs, y, loss_fn, optimizer, steps):
    """The tutorial's loop with an optimizer: predict, loss, zero_grad, backward, step;
    the losses."""
    losses = []
    for t in range(steps):
        loss = loss_fn(model(inputs), y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


def polynomial_tensor(torch, shared, precision="float", steps=300):
    """Raw tensors, gradients written by hand, updates with ``-=``."""
    dtype = _dtype(torch, precision)
    device = torch.device("cpu")

    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)

    # The tutorial draws the coefficients with randn; both runs then start from the
    # shared values.
    a = torch.randn((), device=device, dtype=dtype)
    drawn = {"shape": a.shape, "is_dtype": a.dtype == dtype, "dim": a.dim()}
    a = torch.tensor(shared.randn("a", ()), device=device, dtype=dtype)
    b = torch.tensor(shared.randn("b", ()), device=device, dtype=dtype)
    c = torch.tensor(shared.randn("c", ()), device=device, dtype=dtype)
    d = torch.tensor(shared.randn("d", ()), device=device, dtype=dtype)
    a_before = a

    learning_rate = 1e-6
    losses = []
    for t in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum().item()
        if t % 100 == 99:
            print(t, loss)
        losses.append(loss)

        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x ** 2).sum()
        grad_d = (grad_y_pred * x ** 3).sum()

        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d

    print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
    return {"drawn": drawn, "losses": losses, "coefficients": [a.item(), b.item(), c.item(), d.item()],
            "in_place": a_before is a, "x": x, "y": y}


def polynomial_autograd(torch, shared, precision="float", steps=300):
    """Autograd computes the gradients; the update runs under ``no_grad``."""
    dtype = _dtype(torch, precision)
    device = "cpu"
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype, device=device)
    y = torch.sin(x)

    a = torch.randn((), dtype=dtype, requires_grad=True)
    drawn = {"leaf": a.is_leaf, "requires_grad": a.requires_grad, "grad": a.grad}
    a = torch.tensor(shared.randn("a", ()), dtype=dtype, requires_grad=True)
    b = torch.tensor(shared.randn("b", ()), dtype=dtype, requires_grad=True)
    c = torch.tensor(shared.randn("c", ()), dtype=dtype, requires_grad=True)
    d = torch.tensor(shared.randn("d", ()), dtype=dtype, requires_grad=True)

    learning_rate = 1e-6
    losses, grads = [], []
    for t in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            print(t, loss.item())
        losses.append(loss.item())
        loss.backward()
        if t == 0:
            grads = [a.grad.clone(), b.grad.clone(), c.grad.clone(), d.grad.clone()]

        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad

            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None

    return {"drawn": drawn, "losses": losses, "first_grads": grads,
            "coefficients": [a.item(), b.item(), c.item(), d.item()],
            "still_leaves": [p.is_leaf and p.requires_grad for p in (a, b, c, d)],
            "grad_after": a.grad}


def polynomial_nn(torch, shared, precision="float", steps=300):
    """``nn.Sequential(Linear(3, 1), Flatten(0, 1))`` on the features (x, x^2, x^3)."""
    dtype = _dtype(torch, precision)
    x, y, xx = _sine_with_powers(torch, dtype)

    model = torch.nn.Sequential(
        torch.nn.Linear(3, 1),
        torch.nn.Flatten(0, 1)
    )
    model = model.to(dtype)
    shared.load(torch, model, "poly_nn")
    loss_fn = torch.nn.MSELoss(reduction="sum")

    learning_rate = 1e-6
    losses = []
    for t in range(steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        if t % 100 == 99:
            print(t, loss.item())
        losses.append(loss.item())

        model.zero_grad()
        loss.backward()

        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad

    linear_layer = model[0]
    print(f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + "
          f"{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3")
    return {"xx": xx, "xx_is_dtype": xx.dtype == dtype, "pred_shape": y_pred.shape,
            "losses": losses, "bias": linear_layer.bias.item(),
            "weights": [linear_layer.weight[:, i].item() for i in range(3)],
            "state": model.state_dict()}


def polynomial_optim(torch, shared, precision="float", steps=300):
    """The same model, updated by ``torch.optim.RMSprop``."""
    dtype = _dtype(torch, precision)
    x, y, xx = _sine_with_powers(torch, dtype)

    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1)).to(dtype)
    shared.load(torch, model, "poly_optim")
    loss_fn = torch.nn.MSELoss(reduction="sum")

    learning_rate = 1e-3
    optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
    losses = _train(model, xx, y, loss_fn, optimizer, steps)
    optimizer.zero_grad()       # set_to_none=True by default since torch 2.0

    linear_layer = model[0]
    return {"losses": losses, "bias": linear_layer.bias.item(),
            "weights": [linear_layer.weight[:, i].item() for i in range(3)],
            "grad_after_zero_grad": linear_layer.weight.grad,
            "optimizer_state": optimizer.state_dict()["state"][0]["square_avg"]}


def polynomial_module(torch, shared, precision="float", steps=300):
    """A custom ``nn.Module`` whose four coefficients are ``nn.Parameter`` scalars."""
    dtype = _dtype(torch, precision)

    class Polynomial3(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.randn(()))
            self.b = torch.nn.Parameter(torch.randn(()))
            self.c = torch.nn.Parameter(torch.randn(()))
            self.d = torch.nn.Parameter(torch.randn(()))

        def forward(self, x):
            return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

        def string(self):
            return (f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + "
                    f"{self.d.item()} x^3")

    x, y, _ = _sine_with_powers(torch, dtype)

    model = Polynomial3().to(dtype)
    shared.load(torch, model, "poly_module", randn=("a", "b", "c", "d"))
    names = [name for name, _ in model.named_parameters()]

    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
    losses = _train(model, x, y, criterion, optimizer, steps)

    print(f"Result: {model.string()}")
    return {"names": names, "losses": losses, "state": model.state_dict(),
            "num_params": sum(p.numel() for p in model.parameters())}


def dynamic_net(torch, shared, precision="float", steps=200):
    """Control flow in forward: a random number of extra terms reusing one parameter."""
    dtype = _dtype(torch, precision)
    rng = random.Random(0)      # the tutorial uses the global ``random``; same draws here

    class DynamicNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.randn(()))
            self.b = torch.nn.Parameter(torch.randn(()))
            self.c = torch.nn.Parameter(torch.randn(()))
            self.d = torch.nn.Parameter(torch.randn(()))
            self.e = torch.nn.Parameter(torch.randn(()))

        def forward(self, x):
            y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
            for exp in range(4, rng.randint(4, 6)):
                y = y + self.e * x ** exp
            return y

    x, y, _ = _sine_with_powers(torch, dtype)
    model = DynamicNet().to(dtype)
    shared.load(torch, model, "dynamic", randn=("a", "b", "c", "d", "e"))
    with torch.no_grad():
        model.e.mul_(0.01)      # keeps the x^4, x^5 terms from blowing up in few steps

    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
    losses = _train(model, x, y, criterion, optimizer, steps)
    return {"losses": losses, "state": model.state_dict()}


def polynomial_custom_function(torch, shared, precision="float", steps=300):
    """y = a + b * P3(c + d * x) with P3 a custom ``torch.autograd.Function``."""
    dtype = _dtype(torch, precision)

    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    device = torch.device("cpu")
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)

    # The tutorial's starting point is fixed, so no shared values are needed.
    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)

    learning_rate = 5e-6
    losses = []
    for t in range(steps):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        if t == 0:
            has_grad_fn = y_pred.grad_fn is not None
        loss.backward()

        with torch.no_grad():
            for p in (a, b, c, d):  # the loop form: in place, through the loop variable
                p -= learning_rate * p.grad
                p.grad = None

    return {"losses": losses, "coefficients": [a.item(), b.item(), c.item(), d.item()],
            "has_grad_fn": has_grad_fn}


def two_layer_relu_function(torch, shared, precision="float", steps=50):
    """The older tutorial's two-layer net: ``mm``, ``clamp(min=0)``, ``grad_h[h < 0] = 0``,
    and ``MyReLU``, a custom Function that clones its gradient and masks it."""
    dtype = _dtype(torch, precision)
    N, D_in, H, D_out = 16, 20, 12, 5

    x = torch.from_numpy(shared.randn("x", (N, D_in))).to(dtype)
    y = torch.from_numpy(shared.randn("y", (N, D_out))).to(dtype)
    w1 = torch.from_numpy(shared.randn("w1", (D_in, H))).to(dtype)
    w2 = torch.from_numpy(shared.randn("w2", (H, D_out))).to(dtype)

    learning_rate = 1e-4
    manual_losses = []
    for t in range(steps):
        h = x.mm(w1)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(w2)
        loss = (y_pred - y).pow(2).sum().item()
        manual_losses.append(loss)

        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.t().mm(grad_y_pred)
        grad_h_relu = grad_y_pred.mm(w2.t())
        grad_h = grad_h_relu.clone()
        grad_h[h < 0] = 0
        grad_w1 = x.t().mm(grad_h)

        w1 -= learning_rate * grad_w1
        w2 -= learning_rate * grad_w2

    class MyReLU(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    w1 = torch.tensor(shared.randn("w1", (D_in, H)), dtype=dtype, requires_grad=True)
    w2 = torch.tensor(shared.randn("w2", (H, D_out)), dtype=dtype, requires_grad=True)
    autograd_losses = []
    for t in range(steps):
        relu = MyReLU.apply
        y_pred = relu(x.mm(w1)).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        autograd_losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()

    return {"manual": manual_losses, "autograd": autograd_losses, "w1": w1, "w2": w2}
