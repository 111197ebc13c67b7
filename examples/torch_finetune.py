#!/usr/bin/env python3
"""Fine-tune a CNN around its MADDNESS layers (maddness.torch in training mode).

Loads the small CNN that scripts/make_deepfeat.py trained on Fashion-MNIST (cnn.pt in its cache
folder), replaces its last layer (fc) with maddness.torch.Linear, then also its inner convolution
(conv3) with maddness.torch.Conv2d, and fine-tunes each network on the CPU: the MADDNESS float
tables train (and with --upstream-lr the other layers too), the MADDNESS codes (hash trees) stay
fixed, and the input gradient of each MADDNESS layer is that of its exact product. Prints the test accuracy of the
exact network, and of each MADDNESS network before and after fine-tuning (evaluation mode: the
C++ kernels on byte tables).

    /usr/bin/python3 scripts/make_deepfeat.py          # once: ~/.cache/maddness/deepfeat
    PYTHONPATH=build/python /usr/bin/python3 examples/torch_finetune.py [--codebooks 16]

A few minutes on 2 cores (--quick: seconds, for tests).
"""

import argparse
import os
import pathlib
import sys
import time

import torch

import maddness.torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))
import make_deepfeat  # noqa: E402  (the CNN, the data loader and the default folder)


def accuracy(net, images, labels, batch_size=1000):
    net.eval()
    with torch.no_grad():
        correct = sum(
            (net(images[i : i + batch_size]).argmax(1) == labels[i : i + batch_size]).sum().item()
            for i in range(0, len(images), batch_size)
        )
    return correct / len(images)


def fine_tune(net, images, labels, epochs, lr, upstream_lr, seed, batch_size=128):
    """Adam on the MADDNESS float tables (learning rate `lr`) and, when `upstream_lr` > 0, on
    the other parameters (the exact layers); cross-entropy."""
    tables = [p for name, p in net.named_parameters() if name.endswith(".tables")]
    others = [p for name, p in net.named_parameters() if not name.endswith(".tables")]
    groups = [{"params": tables, "lr": lr}]
    if upstream_lr > 0:
        groups.append({"params": others, "lr": upstream_lr})
    else:
        for parameter in others:
            parameter.requires_grad_(False)
    optimizer = torch.optim.Adam(groups)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        net.train()
        start = time.perf_counter()
        order = torch.randperm(len(images), generator=generator)
        total = 0.0
        for first in range(0, len(images), batch_size):
            batch = order[first : first + batch_size]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(images[batch]), labels[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        print(f"  epoch {epoch + 1}/{epochs}: loss {total / len(images):.4f} "
              f"({time.perf_counter() - start:.1f} s)", flush=True)
    net.eval()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deepfeat", type=pathlib.Path, default=make_deepfeat.default_out(),
                        help="folder of scripts/make_deepfeat.py (default: %(default)s)")
    parser.add_argument("--fashion-dir", type=pathlib.Path, default=make_deepfeat.FASHION_MNIST)
    parser.add_argument("--codebooks", type=int, default=16)
    parser.add_argument("--calibration-images", type=int, default=10000)
    parser.add_argument("--tune-images", type=int, default=20000,
                        help="training images per fine-tuning epoch")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3,
                        help="learning rate of the MADDNESS tables")
    parser.add_argument("--upstream-lr", type=float, default=0.0,
                        help="learning rate of the other layers (0: frozen)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="500 calibration and tuning images, 1 epoch, 1000 test images")
    args = parser.parse_args()
    if args.quick:
        args.calibration_images, args.tune_images, args.epochs = 500, 500, 1
    checkpoint_path = args.deepfeat / "cnn.pt"
    if not checkpoint_path.exists():
        print(f"torch_finetune: {checkpoint_path} not found; make it with /usr/bin/python3 "
              f"scripts/make_deepfeat.py --out {args.deepfeat}", file=sys.stderr)
        return 1
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(args.threads)

    checkpoint = torch.load(checkpoint_path)
    train_images, train_labels = make_deepfeat.load_split(args.fashion_dir, "train")
    test_images, test_labels = make_deepfeat.load_split(args.fashion_dir, "t10k")
    if args.quick:
        test_images, test_labels = test_images[:1000], test_labels[:1000]
    generator = torch.Generator().manual_seed(args.seed + 7)
    order = torch.randperm(len(train_images), generator=generator)
    calibration = train_images[order[: args.calibration_images]]
    tune = order[: args.tune_images]
    tune_images, tune_labels = train_images[tune], train_labels[tune]

    def load_cnn():
        net = make_deepfeat.SmallCnn(width3=checkpoint["width"])
        net.load_state_dict(checkpoint["state_dict"])
        return net.eval()

    exact = accuracy(load_cnn(), test_images, test_labels)
    print(f"exact CNN: test accuracy {exact:.4f} ({len(test_images)} test images)")
    results = {}
    for replaced in ("fc", "conv3+fc"):
        net = load_cnn()
        start = time.perf_counter()
        with torch.no_grad():
            if replaced == "conv3+fc":
                net.conv3 = maddness.torch.Conv2d.from_conv2d(
                    net.conv3, net.conv3_input(calibration), args.codebooks,
                    threads=args.threads, max_rows=20000, seed=args.seed)
            # The last layer learns from the features the (possibly approximate) network makes.
            features = net.features(calibration)
            net.fc = maddness.torch.Linear.from_linear(
                net.fc, features, args.codebooks, threads=args.threads, seed=args.seed)
        learn_seconds = time.perf_counter() - start
        before = accuracy(net, test_images, test_labels)
        print(f"MADDNESS C = {args.codebooks} in {replaced}: learned in {learn_seconds:.1f} s, "
              f"test accuracy {before:.4f}; fine-tuning on {len(tune_images)} images",
              flush=True)
        start = time.perf_counter()
        fine_tune(net, tune_images, tune_labels, args.epochs, args.lr, args.upstream_lr,
                  args.seed)
        tune_seconds = time.perf_counter() - start
        after = accuracy(net, test_images, test_labels)
        results[replaced] = (before, after, learn_seconds, tune_seconds)

    print(f"\nFashion-MNIST test accuracy, MADDNESS with C = {args.codebooks} "
          f"(kernels: {maddness.simd_target()}):")
    print(f"{'network':24s} {'before':>8s} {'after':>8s} {'learn s':>8s} {'tune s':>8s}")
    print(f"{'exact':24s} {exact:8.4f} {exact:8.4f}")
    for replaced, (before, after, learn_seconds, tune_seconds) in results.items():
        print(f"{'MADDNESS ' + replaced:24s} {before:8.4f} {after:8.4f} {learn_seconds:8.1f} "
              f"{tune_seconds:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
