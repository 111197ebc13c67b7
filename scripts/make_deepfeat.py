#!/usr/bin/env python3
"""Make the project's deep-feature benchmark (`maddness-experiment --task deepfeat`).

Trains a small CNN on Fashion-MNIST (Debian package dataset-fashion-mnist) on the CPU, seeded and
deterministic, and writes into a cache folder outside the repository (default
~/.cache/maddness/deepfeat, or $MADDNESS_DEEPFEAT, or --out):

  classifier task (its last layer, a linear classifier on the penultimate features):
    feat_train.npy  float32 N_train x D   penultimate features of training images
    feat_test.npy   float32 N_test x D    ... of the test images
    fc_weight.npy   float32 D x M         the trained last layer's weights (B = weight.T)
    fc_bias.npy     float32 M
    y_train.npy, y_test.npy   int64 labels
  NMSE task (one inner convolution as a matrix product):
    conv_train.npy, conv_test.npy   float32 rows x (C_in k k): im2col rows of the layer's input,
                                    sampled from training / test images
    conv_weight.npy float32 (C_in k k) x C_out
  cnn.pt            the trained network's state dict (examples/torch_finetune.py reads it)
  meta.json         sizes, accuracies, seeds and the time taken

    /usr/bin/python3 scripts/make_deepfeat.py            # about 3-5 minutes on 2 cores
    /usr/bin/python3 scripts/make_deepfeat.py --tiny --out /tmp/deepfeat   # seconds, for tests

The same arguments on the same machine give the same files (torch's deterministic algorithms on
a fixed number of threads).
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import numpy as np
import torch

from fashion_mnist import FASHION_MNIST, load_split
import fashion_mnist


def default_out() -> pathlib.Path:
    env = os.environ.get("MADDNESS_DEEPFEAT")
    if env:
        return pathlib.Path(env)
    return pathlib.Path.home() / ".cache" / "maddness" / "deepfeat"


class SmallCnn(torch.nn.Module):
    """Three 3x3 convolutions with ReLU: conv1 with stride 2 (28 x 28 -> 14 x 14), conv2 then 2x2
    max-pooling (-> 7 x 7), conv3; average-pooled to 4 x 4 and flattened to `width3` * 16
    penultimate features; a linear classifier `fc`. `conv3` is the inner convolution of the NMSE
    task (examples/torch_finetune.py builds the same network)."""

    def __init__(self, width1: int = 16, width2: int = 32, width3: int = 64, classes: int = 10):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, width1, 3, stride=2, padding=1)
        self.conv2 = torch.nn.Conv2d(width1, width2, 3, padding=1)
        self.conv3 = torch.nn.Conv2d(width2, width3, 3, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d(4)
        self.fc = torch.nn.Linear(width3 * 16, classes)

    def conv3_input(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(x))
        return torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.relu(self.conv3(self.conv3_input(x)))).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def batched(function, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([function(images[i : i + batch_size])
                          for i in range(0, len(images), batch_size)])


def train(net, images, labels, epochs, seed, batch_size=128, log=print):
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(seed)
    fashion_mnist.train(net, images, labels, optimizer, epochs, generator,
                        batch_size=batch_size, log=log)


def im2col_rows(net, images, rows, generator, batch_size=1000):
    """`rows` im2col rows of conv3's input (C_in * 9 values each, in the order of
    conv3.weight.flatten(1)), drawn without replacement over images x positions."""
    positions = net.conv3_input(images[:1]).shape[2] * net.conv3_input(images[:1]).shape[3]
    total = len(images) * positions
    pick = torch.randperm(total, generator=generator)[: min(rows, total)].sort().values
    chunks = []
    with torch.no_grad():
        for first in range(0, len(images), batch_size):
            lo, hi = first * positions, min(len(images), first + batch_size) * positions
            chosen = pick[(pick >= lo) & (pick < hi)] - lo
            if len(chosen) == 0:
                continue
            inputs = net.conv3_input(images[first : first + batch_size])
            patches = torch.nn.functional.unfold(inputs, 3, padding=1)  # B x (C_in 9) x P
            patches = patches.transpose(1, 2).reshape(-1, patches.shape[1])
            chunks.append(patches[chosen])
    return torch.cat(chunks).contiguous()


def write_atomic(folder: pathlib.Path, name: str, write, mode: str = "wb") -> None:
    """Writes `name` in `folder` through a temporary file and a rename: no half-written files."""
    with tempfile.NamedTemporaryFile(mode, dir=folder, prefix=f".{name}.", delete=False) as file:
        write(file)
        temporary = file.name
    os.chmod(temporary, 0o644)
    os.replace(temporary, folder / name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="output folder (default $MADDNESS_DEEPFEAT or "
                        "~/.cache/maddness/deepfeat)")
    parser.add_argument("--fashion-dir", type=pathlib.Path, default=FASHION_MNIST,
                        help="folder with the Fashion-MNIST IDX .gz files")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-images", type=int, default=60000,
                        help="training images for the CNN")
    parser.add_argument("--feature-train-rows", type=int, default=10000,
                        help="training rows of the classifier task (a seeded sample)")
    parser.add_argument("--test-images", type=int, default=10000)
    parser.add_argument("--conv-train-rows", type=int, default=20000)
    parser.add_argument("--conv-test-rows", type=int, default=10000)
    parser.add_argument("--width", type=int, default=64,
                        help="channels of conv3 (penultimate features: 16 x width)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (fixed)")
    parser.add_argument("--tiny", action="store_true",
                        help="a few seconds: 2000 training images, 1 epoch, width 8, small samples")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.tiny:
        args.epochs = 1
        args.train_images = min(args.train_images, 2000)
        args.feature_train_rows = min(args.feature_train_rows, 1000)
        args.test_images = min(args.test_images, 500)
        args.conv_train_rows = min(args.conv_train_rows, 2000)
        args.conv_test_rows = min(args.conv_test_rows, 500)
        args.width = 8
    for name in ("epochs", "train_images", "feature_train_rows", "test_images",
                 "conv_train_rows", "conv_test_rows", "width", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} {getattr(args, name)}: must be >= 1")
    if args.feature_train_rows > args.train_images:
        parser.error(f"--feature-train-rows {args.feature_train_rows}: must be <= "
                     f"--train-images {args.train_images}")
    out = args.out if args.out is not None else default_out()
    log = (lambda message: None) if args.quiet else (
        lambda message: print(message, file=sys.stderr, flush=True))
    for prefix in ("train", "t10k"):
        for kind in ("images-idx3", "labels-idx1"):
            path = args.fashion_dir / f"{prefix}-{kind}-ubyte.gz"
            if not path.exists():
                print(f"make_deepfeat: --fashion-dir {args.fashion_dir}: {path.name} not found; "
                      "install the Debian package dataset-fashion-mnist "
                      "(bash scripts/install-deps.sh)", file=sys.stderr)
                return 1
    start = time.perf_counter()
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(args.seed + 1)

    train_images, train_labels = load_split(args.fashion_dir, "train")
    test_images, test_labels = load_split(args.fashion_dir, "t10k")
    order = torch.randperm(len(train_images), generator=generator)[: args.train_images]
    train_images, train_labels = train_images[order], train_labels[order]
    test_images, test_labels = test_images[: args.test_images], test_labels[: args.test_images]

    net = SmallCnn(width3=args.width)
    log(f"training the CNN on {len(train_images)} images, {args.epochs} epoch(s), "
        f"{args.threads} thread(s)")
    train(net, train_images, train_labels, args.epochs, args.seed, log=log)
    train_seconds = time.perf_counter() - start

    feature_images = train_images[: args.feature_train_rows]
    feature_labels = train_labels[: args.feature_train_rows]
    feat_train = batched(net.features, feature_images)
    feat_test = batched(net.features, test_images)
    with torch.no_grad():
        logits = net.fc(feat_test)
    accuracy = (logits.argmax(1) == test_labels).double().mean().item()
    log(f"test accuracy of the CNN: {accuracy:.4f}")
    conv_train = im2col_rows(net, train_images, args.conv_train_rows, generator)
    conv_test = im2col_rows(net, test_images, args.conv_test_rows, generator)
    conv_weight = net.conv3.weight.detach().flatten(1).t().contiguous()

    out.mkdir(parents=True, exist_ok=True)
    files = {
        "feat_train.npy": feat_train.numpy().astype(np.float32),
        "feat_test.npy": feat_test.numpy().astype(np.float32),
        "fc_weight.npy": net.fc.weight.detach().t().contiguous().numpy(),
        "fc_bias.npy": net.fc.bias.detach().numpy().copy(),
        "y_train.npy": feature_labels.numpy(),
        "y_test.npy": test_labels.numpy(),
        "conv_train.npy": conv_train.numpy(),
        "conv_test.npy": conv_test.numpy(),
        "conv_weight.npy": conv_weight.numpy(),
    }
    for name, array in files.items():
        write_atomic(out, name, lambda file, array=array: np.save(file, np.ascontiguousarray(array)))
    write_atomic(out, "cnn.pt",
                 lambda file: torch.save({"width": args.width, "state_dict": net.state_dict()}, file))
    meta = {
        "seed": args.seed, "threads": args.threads, "epochs": args.epochs,
        "train_images": len(train_images), "test_images": len(test_images),
        "feature_dim": int(feat_train.shape[1]), "feature_train_rows": len(feat_train),
        "conv_dim": int(conv_weight.shape[0]), "conv_outputs": int(conv_weight.shape[1]),
        "conv_train_rows": len(conv_train), "conv_test_rows": len(conv_test),
        "cnn_test_accuracy": accuracy, "train_seconds": train_seconds,
        "seconds": time.perf_counter() - start, "torch": torch.__version__,
    }
    write_atomic(out, "meta.json", lambda file: json.dump(meta, file, indent=1), "w")
    log(f"wrote {out} in {meta['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
