"""The "Learn the Basics" quickstart: FashionMNIST-shaped random data, the tutorial's
model, train/test loops, saving and loading the state dict."""
import math


def quickstart(torch, shared, tmpdir, n_train=256, n_test=128, epochs=2):
    nn = torch.nn
    DataLoader = torch.utils.data.DataLoader
    TensorDataset = torch.utils.data.TensorDataset

    training_data = TensorDataset(
        torch.from_numpy(shared.uniform("train_x", (n_train, 1, 28, 28))),
        torch.from_numpy(shared.labels("train_y", n_train, 10)))
    test_data = TensorDataset(
        torch.from_numpy(shared.uniform("test_x", (n_test, 1, 28, 28))),
        torch.from_numpy(shared.labels("test_y", n_test, 10)))

    batch_size = 64
    train_dataloader = DataLoader(training_data, batch_size=batch_size)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)

    for X, y in test_dataloader:
        print(f"Shape of X [N, C, H, W]: {X.shape}")
        print(f"Shape of y: {y.shape} {y.dtype}")
        first_batch = {"X": X.shape, "y": y.shape, "y_is_int64": y.dtype == torch.int64}
        break

    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    print(f"Using {device} device")

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(28 * 28, 512),
                nn.ReLU(),
                nn.Linear(512, 512),
                nn.ReLU(),
                nn.Linear(512, 10)
            )

        def forward(self, x):
            x = self.flatten(x)
            logits = self.linear_relu_stack(x)
            return logits

    model = NeuralNetwork().to(device)
    shared.load(torch, model, "quickstart")
    print(model)

    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)

    log = []

    def train(dataloader, model, loss_fn, optimizer):
        size = len(dataloader.dataset)
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            X, y = X.to(device), y.to(device)

            pred = model(X)
            loss = loss_fn(pred, y)

            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

            if batch % 2 == 0:
                loss, current = loss.item(), (batch + 1) * len(X)
                print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")
                log.append((loss, current, size))

    def test(dataloader, model, loss_fn):
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        model.eval()
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                X, y = X.to(device), y.to(device)
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        test_loss /= num_batches
        correct /= size
        print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
        log.append((correct, test_loss))

    for t in range(epochs):
        print(f"Epoch {t + 1}\n-------------------------------")
        train(train_dataloader, model, loss_fn, optimizer)
        test(test_dataloader, model, loss_fn)
    print("Done!")

    path = str(tmpdir / "model.pth")
    torch.save(model.state_dict(), path)
    print(f"Saved PyTorch Model State to {path}")

    model = NeuralNetwork().to(device)
    model.load_state_dict(torch.load(path, weights_only=True))

    classes = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]
    model.eval()
    x, y = test_data[0][0], test_data[0][1]
    with torch.no_grad():
        x = x.to(device)
        pred = model(x)
        predicted, actual = classes[pred[0].argmax(0)], classes[y]
        print(f'Predicted: "{predicted}", Actual: "{actual}"')

    return {"first_batch": first_batch, "device": device, "log": log,
            "loaded": model.state_dict(), "pred": pred, "actual": actual,
            "num_batches": [len(train_dataloader), len(test_dataloader)]}


def dataloader_semantics(torch, shared):
    """What the tutorials take for granted about DataLoader: batch counts, the short last
    batch, ``drop_last``, a shuffle that is a permutation, items from a Dataset subclass
    collated into tensors, ``iter``/``next``."""
    Dataset = torch.utils.data.Dataset
    DataLoader = torch.utils.data.DataLoader

    class Squares(Dataset):
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

        def __getitem__(self, idx):
            return torch.tensor([float(idx), float(idx) ** 2]), idx % 3

    data = Squares(10)
    loader = DataLoader(data, batch_size=4)
    batches = [(x, y) for x, y in loader]
    dropped = DataLoader(data, batch_size=4, drop_last=True)
    generator = torch.Generator().manual_seed(0)
    shuffled = DataLoader(data, batch_size=3, shuffle=True, generator=generator)
    seen = sorted(int(i) for x, _ in shuffled for i in x[:, 0])
    x, y = next(iter(loader))
    return {"len": len(loader), "len_dropped": len(dropped), "batches": batches,
            "last_batch": batches[-1][0].shape, "labels_are_int64": y.dtype == torch.int64,
            "permutation": seen == list(range(10)), "shuffled_len": len(shuffled),
            "ceil": math.ceil(len(data) / 3) == len(shuffled), "first": x}
