#!/usr/bin/env python3
"""Replace the last layer of a PyTorch network with MADDNESS.

Trains a small multilayer perceptron on Fashion-MNIST (Debian package dataset-fashion-mnist) for
a few epochs on the CPU, replaces its last torch.nn.Linear with maddness.torch.Linear, learned
from the training set's inputs to that layer, and prints test accuracy and the time of the last
layer, exact and with MADDNESS, on one thread (and the exact product in numpy, for reference).

    PYTHONPATH=build/python /usr/bin/python3 examples/torch_last_layer.py [--codebooks 16]

Takes under a minute on one core (--quick: a few seconds, for tests).
"""

import os

# Timings are on one thread; numpy's OpenBLAS reads this when it loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import pathlib  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

import maddness  # noqa: E402
import maddness.torch  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "scripts"))
import fashion_mnist  # noqa: E402  (the IDX reader, the loader and the training loop)

FASHION_MNIST = fashion_mnist.FASHION_MNIST


def load_split(folder: pathlib.Path, prefix: str):
    """Images as float32 rows scaled to [0, 1], and int64 labels."""
    return fashion_mnist.load_split(folder, prefix, flat=True)


def train(net, images, labels, epochs, batch_size=128):
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    fashion_mnist.train(net, images, labels, optimizer, epochs, generator,
                        batch_size=batch_size)


def best_time(function, repeats):
    """The fastest of `repeats` runs, in seconds (after one warm-up run)."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=pathlib.Path, default=FASHION_MNIST,
                        help="folder with the Fashion-MNIST .gz files (default: %(default)s)")
    parser.add_argument("--codebooks", type=int, default=16, help="MADDNESS codebooks C")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help="10000 training rows and 1 epoch: checks that everything runs")
    args = parser.parse_args()

    if not (args.data / "train-images-idx3-ubyte.gz").exists():
        raise SystemExit(f"Fashion-MNIST not found in {args.data}: "
                         "apt-get install dataset-fashion-mnist, or pass --data FOLDER")
    torch.manual_seed(0)
    train_images, train_labels = load_split(args.data, "train")
    test_images, test_labels = load_split(args.data, "t10k")
    epochs = args.epochs
    if args.quick:
        train_images, train_labels, epochs = train_images[:10000], train_labels[:10000], 1

    hidden = 256
    body = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, hidden), torch.nn.ReLU(),
    )
    last = torch.nn.Linear(hidden, 10)
    train(torch.nn.Sequential(body, last), train_images, train_labels, epochs)

    # Everything below is inference on one thread, for a fair timing of the two layers.
    torch.set_num_threads(1)
    with torch.no_grad():
        body.eval()
        train_features = body(train_images)  # what the last layer sees: N_train x 256
        test_features = body(test_images)
        start = time.perf_counter()
        approximate = maddness.torch.Linear.from_linear(
            last, train_features, codebooks=args.codebooks, threads=1)
        learn_seconds = time.perf_counter() - start

        exact_logits = last(test_features)
        maddness_logits = approximate(test_features)
        exact_accuracy = (exact_logits.argmax(1) == test_labels).float().mean().item()
        maddness_accuracy = (maddness_logits.argmax(1) == test_labels).float().mean().item()
        agreement = (exact_logits.argmax(1) == maddness_logits.argmax(1)).float().mean().item()
        difference = maddness_logits - exact_logits
        nmse = (difference.square().sum() / exact_logits.square().sum()).item()

        repeats = 3 if args.quick else 20
        exact_seconds = best_time(lambda: last(test_features), repeats)
        maddness_seconds = best_time(lambda: approximate(test_features), repeats)
        # The same exact product in numpy (OpenBLAS), for reference: Debian's torch uses a
        # generic BLAS, which makes torch.nn.Linear slower than it is elsewhere.
        features, weight_t = test_features.numpy(), last.weight.detach().numpy().T.copy()
        bias = last.bias.detach().numpy()
        numpy_seconds = best_time(lambda: features @ weight_t + bias, repeats)

    rows = len(test_features)
    print(f"\nFashion-MNIST test set, {rows} rows; last layer {hidden} -> 10, "
          f"MADDNESS with {args.codebooks} codebooks (kernels: {maddness.simd_target()})")
    print(f"learned the MADDNESS layer from {len(train_features)} rows in {learn_seconds:.2f} s")
    print(f"{'last layer':22s} {'accuracy':>9s} {'time (1 thread)':>16s}")
    print(f"{'torch.nn.Linear':22s} {exact_accuracy:9.4f} {exact_seconds * 1e3:13.2f} ms")
    print(f"{'maddness.torch.Linear':22s} {maddness_accuracy:9.4f} "
          f"{maddness_seconds * 1e3:13.2f} ms")
    print(f"{'numpy A @ W.T + b':22s} {exact_accuracy:9.4f} {numpy_seconds * 1e3:13.2f} ms")
    print(f"same class as the exact layer for {agreement:.2%} of the rows; "
          f"NMSE of the logits {nmse:.4f}")


if __name__ == "__main__":
    main()
