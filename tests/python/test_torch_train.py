"""maddness.torch in training mode: the gradients of the float tables (scatter-add over the codes)
and of the input (straight-through: the exact product's), the switch between training (PyTorch on
float tables) and evaluation (C++ kernels on byte tables), and Conv2d through unfold."""

import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import maddness  # noqa: E402
import maddness.torch  # noqa: E402
from conftest import C, D, M, structured_rows  # noqa: E402


@pytest.fixture()
def layer():
    torch.manual_seed(0)
    return torch.nn.Linear(D, M)


@pytest.fixture()
def calibration():
    return torch.from_numpy(structured_rows(np.random.default_rng(21), 2000))


def one_hot_codes(codes, codebooks):
    """G (N, C * 16): G[n, c * 16 + k] = 1 when row n has code k in codebook c."""
    rows = torch.arange(len(codes)).repeat_interleave(codebooks)
    columns = (codes + 16 * torch.arange(codebooks)).reshape(-1)
    g = torch.zeros(len(codes), codebooks * 16, dtype=torch.float64)
    g[rows, columns] = 1.0
    return g


def test_training_forward_and_gradients_match_the_explicit_formulas(layer, calibration):
    replaced = maddness.torch.Linear.from_linear(layer, calibration, codebooks=C, threads=1)
    assert not replaced.training and replaced.trainable
    assert [name for name, _ in replaced.named_parameters()] == ["tables"]
    replaced.train()
    x = torch.from_numpy(structured_rows(np.random.default_rng(5), 64)).requires_grad_()
    y = replaced(x)
    assert y.requires_grad and y.shape == (64, M)
    codes = replaced.codes(x)
    assert codes.shape == (64, C) and int(codes.min()) >= 0 and int(codes.max()) < 16
    g = one_hot_codes(codes, C)
    tables = replaced.tables.detach().double()  # (M, C, 16)
    flat = tables.permute(1, 2, 0).reshape(C * 16, M)  # [c * 16 + k, m]
    expected = g @ flat + layer.bias.detach().double()
    np.testing.assert_allclose(y.detach().double().numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    # Float tables start at prototypes x weight.T: close to the exact layer.
    exact = layer(x).detach().double()
    assert float(((expected - exact) ** 2).sum() / (exact**2).sum()) < 0.1

    upstream = torch.from_numpy(np.random.default_rng(6).standard_normal((64, M)).astype(np.float32))
    (y * upstream).sum().backward()
    # Tables: the scatter-add of the output gradient over the codes, G^T @ upstream.
    expected_tables = (g.T @ upstream.double()).reshape(C, 16, M).permute(2, 0, 1)
    np.testing.assert_allclose(replaced.tables.grad.double().numpy(), expected_tables.numpy(),
                               rtol=1e-5, atol=1e-5)
    # Input: straight-through, the gradient of x @ weight.T.
    np.testing.assert_allclose(x.grad.numpy(), (upstream @ layer.weight.detach()).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_table_gradient_matches_finite_differences(layer, calibration):
    replaced = maddness.torch.Linear.from_linear(layer, calibration, codebooks=4, threads=1).train()
    x = torch.from_numpy(structured_rows(np.random.default_rng(7), 40))
    target = torch.from_numpy(np.random.default_rng(8).standard_normal((40, M)).astype(np.float32))

    def loss():
        return ((replaced(x) - target) ** 2).mean()

    loss().backward()
    gradient = replaced.tables.grad.clone()
    # The output is linear in the tables, so central differences are exact up to rounding.
    step = 1e-2
    codes = replaced.codes(x)
    for m, c, k in [(0, 0, int(codes[0, 0])), (M - 1, 3, int(codes[5, 3])), (2, 1, int(codes[9, 1]))]:
        with torch.no_grad():
            replaced.tables[m, c, k] += step
            up = loss().item()
            replaced.tables[m, c, k] -= 2 * step
            down = loss().item()
            replaced.tables[m, c, k] += step
        assert abs((up - down) / (2 * step) - gradient[m, c, k].item()) < 1e-3 * max(
            1.0, abs(gradient[m, c, k].item()))
    # Entries no row's code selects get no gradient.
    used = torch.zeros(4, 16, dtype=torch.bool)
    for c in range(4):
        used[c, codes[:, c]] = True
    assert torch.all(gradient[:, ~used] == 0)


def test_training_steps_then_eval_requantizes(layer, calibration):
    replaced = maddness.torch.Linear.from_linear(layer, calibration, codebooks=C, threads=1)
    x = torch.from_numpy(structured_rows(np.random.default_rng(9), 300))
    before = replaced(x)
    assert not before.requires_grad
    bytes_before = replaced.model.to_bytes()
    # Teach the layer a shifted target.
    target = layer(x).detach() + 1.0
    optimizer = torch.optim.Adam(replaced.parameters(), lr=0.05)
    replaced.train()
    for _ in range(30):
        optimizer.zero_grad()
        loss = ((replaced(x) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
    trained_float = replaced(x).detach()
    replaced.eval()
    assert replaced.model.to_bytes() != bytes_before
    after = replaced(x)
    assert not after.requires_grad
    # The byte tables follow the float tables (quantization error only) and learned the shift.
    assert float(((after - trained_float) ** 2).mean()) < 0.01 * float((trained_float**2).mean())
    assert float(((after - target) ** 2).mean()) < 0.5 * float(((before - target) ** 2).mean())
    # Eval output is exactly the C++ model's.
    expected = replaced.model(x.numpy()) + layer.bias.detach().numpy()
    np.testing.assert_array_equal(after.numpy(), expected)
    # The trained layer round-trips through the state dict, in eval mode, bit for bit; and a
    # state dict saved in training mode carries the trained tables quantized.
    replaced.train()
    state = io.BytesIO()
    torch.save(replaced.state_dict(), state)
    state.seek(0)
    fresh = maddness.torch.Linear()
    fresh.load_state_dict(torch.load(state))
    assert not fresh.training and fresh.trainable
    np.testing.assert_array_equal(fresh(x).numpy(), after.numpy())
    np.testing.assert_array_equal(fresh.tables.detach().numpy(), replaced.tables.detach().numpy())


def test_inference_only_layers_run_the_kernels_in_training_mode(layer, calibration):
    replaced = maddness.torch.Linear.from_linear(layer, calibration, codebooks=C, trainable=False)
    assert not replaced.trainable and list(replaced.parameters()) == []
    x = torch.from_numpy(structured_rows(np.random.default_rng(10), 20))
    np.testing.assert_array_equal(replaced.train()(x).numpy(), replaced.eval()(x).numpy())
    assert "tables" not in replaced.state_dict()


def test_conv2d_matches_the_kernels_and_trains():
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(3, 5, 3, stride=2, padding=1)
    images = torch.randn(20, 3, 11, 9)
    # Smooth images (like real ones): MADDNESS is accurate on correlated inputs.
    images = torch.nn.functional.avg_pool2d(images, 3, stride=1, padding=1)
    replaced = maddness.torch.Conv2d.from_conv2d(conv, images, codebooks=6, threads=1,
                                                 max_rows=500)
    assert not replaced.training
    y = replaced(images)
    exact = conv(images).detach()
    assert y.shape == exact.shape == (20, 5, 6, 5)
    assert float(((y - exact) ** 2).sum() / (exact**2).sum()) < 0.2
    # The same as the inner Linear on the im2col rows.
    rows = torch.nn.functional.unfold(images, 3, padding=1, stride=2).transpose(1, 2)
    expected = replaced.linear(rows).transpose(1, 2).reshape(20, 5, 6, 5)
    np.testing.assert_array_equal(y.numpy(), expected.numpy())
    # Training mode: differentiable, the input gradient is the exact convolution's.
    replaced.train()
    assert replaced.linear.training
    x = images.clone().requires_grad_()
    out = replaced(x)
    upstream = torch.randn(out.shape)
    (out * upstream).sum().backward()
    x_exact = images.clone().requires_grad_()
    (conv(x_exact) * upstream).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x_exact.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert replaced.linear.tables.grad is not None
    # Training-mode values equal evaluation-mode values up to the byte quantization.
    assert float(((out.detach() - y) ** 2).sum() / (y**2).sum()) < 0.01
    # State dict round trip into a fresh Conv2d with the same geometry.
    fresh = maddness.torch.Conv2d(kernel_size=3, stride=2, padding=1)
    fresh.load_state_dict(replaced.state_dict())
    np.testing.assert_array_equal(fresh(images).numpy(), replaced.eval()(images).numpy())


def test_conv2d_errors():
    with pytest.raises(ValueError, match="groups=2"):
        maddness.torch.Conv2d.from_conv2d(torch.nn.Conv2d(4, 4, 3, groups=2),
                                          torch.zeros(2, 4, 8, 8))
    with pytest.raises(ValueError, match=r"calibration_inputs has shape \(2, 3, 8, 8\)"):
        maddness.torch.Conv2d.from_conv2d(torch.nn.Conv2d(4, 4, 3), torch.zeros(2, 3, 8, 8))
    with pytest.raises(TypeError, match="torch.nn.Conv2d"):
        maddness.torch.Conv2d.from_conv2d(torch.nn.Linear(4, 4), torch.zeros(2, 4, 8, 8))
    with pytest.raises(ValueError, match="max_rows is 3"):
        maddness.torch.Conv2d.from_conv2d(torch.nn.Conv2d(4, 4, 3), torch.zeros(2, 4, 8, 8),
                                          max_rows=3)


def test_set_float_tables_errors(layer, calibration):
    model = maddness.fit(calibration.numpy(), layer.weight.detach().numpy().T, codebooks=C)
    tables = model.float_tables(layer.weight.detach().numpy().T)
    assert tables.shape == (M, C, 16) and tables.dtype == np.float32
    with pytest.raises(ValueError, match=r"tables has shape \(6, 8, 15\)"):
        model.set_float_tables(tables[:, :, :15])
    bad = tables.copy()
    bad[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="tables\\[.*\\] is nan"):
        model.set_float_tables(bad)
    with pytest.raises(ValueError, match="B has shape"):
        model.float_tables(np.zeros((D + 1, M), np.float32))
    # Setting the float tables prototypes x B in float32 gives a model close to set_b's.
    copy = maddness.from_bytes(model.to_bytes())
    copy.set_float_tables(tables)
    x = structured_rows(np.random.default_rng(3), 50)
    np.testing.assert_allclose(copy(x), model(x), rtol=1e-3, atol=1e-3)


def test_tree_input_gradient(layer, calibration):
    """input_gradient="tree": the same output and table gradient as "exact", and the input the
    gradient of the smoothed trees, nonzero only on the columns they test."""
    exact = maddness.torch.Linear.from_linear(layer, calibration, codebooks=C, threads=1)
    tree = maddness.torch.Linear.from_linear(layer, calibration, codebooks=C, threads=1,
                                             input_gradient="tree", temperature=2.0)
    assert (exact.input_gradient, tree.input_gradient, tree.temperature) == ("exact", "tree", 2.0)
    rows = torch.from_numpy(structured_rows(np.random.default_rng(9), 48))
    upstream = torch.from_numpy(np.random.default_rng(10).standard_normal((48, M)).astype(np.float32))
    outputs, grads = [], []
    for replaced in (exact, tree):
        replaced.train()
        x = rows.clone().requires_grad_()
        y = replaced(x)
        (y * upstream).sum().backward()
        outputs.append(y.detach())
        grads.append((replaced.tables.grad.clone(), x.grad.clone()))
    np.testing.assert_array_equal(outputs[0].numpy(), outputs[1].numpy())
    np.testing.assert_array_equal(grads[0][0].numpy(), grads[1][0].numpy())
    # The trees: at a tiny temperature the smooth leaf weights are the codes.
    levels = maddness.torch._split_levels(tree.model)
    columns = levels[0]
    assert columns.shape == (C, 4)
    weights = maddness.torch._leaf_weights(rows.double(), levels, 1e-4)
    np.testing.assert_array_equal(weights.argmax(-1).numpy(), tree.codes(rows).numpy())
    assert float(weights.max(-1).values.min()) > 0.99
    # Only the tested columns get a gradient; central differences of the smooth output agree.
    tested = set(columns.reshape(-1).tolist())
    gradient = grads[1][1].double()
    for j in range(D):
        if j not in tested:
            assert bool((gradient[:, j] == 0).all())
    assert float(gradient.abs().sum()) > 0
    tables = tree.tables.detach().double()

    def smooth(x):
        return (torch.einsum("nck,mck->nm", maddness.torch._leaf_weights(x, levels, 2.0), tables)
                * upstream.double()).sum(1)

    # The hand-written backward of the layer equals autograd through the smooth trees, for every
    # column (in double precision, where rounding does not hide a wrong term).
    x = rows.double().requires_grad_()
    smooth(x).sum().backward()
    columns, scale, offset, thresholds = levels
    inputs = rows.double()[:, columns.reshape(-1)].reshape(len(rows), C, 4) * scale + offset
    by_hand = maddness.torch._tree_input_gradient(
        upstream.double(), inputs, tables, levels, 2.0, D)
    np.testing.assert_allclose(by_hand.numpy(), x.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gradient.numpy(), x.grad.numpy(), rtol=1e-4, atol=1e-5)

    step = 1e-4
    for j in sorted(tested)[:4]:
        shift = torch.zeros(D, dtype=torch.float64)
        shift[j] = step
        numeric = (smooth(rows.double() + shift) - smooth(rows.double() - shift)) / (2 * step)
        np.testing.assert_allclose(gradient[:, j].numpy(), numeric.numpy(), rtol=1e-3, atol=1e-3)


def test_input_gradient_errors(layer, calibration):
    with pytest.raises(ValueError, match="input_gradient is 'soft'; it must be one of"):
        maddness.torch.Linear.from_linear(layer, calibration, codebooks=C, input_gradient="soft")
    for temperature in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature is .*; it must be finite and > 0"):
            maddness.torch.Linear.from_linear(layer, calibration, codebooks=C,
                                              input_gradient="tree", temperature=temperature)
    with pytest.raises(TypeError, match="temperature is '1'; it must be a number"):
        maddness.torch.Linear.from_linear(layer, calibration, codebooks=C, temperature="1")
    replaced = maddness.torch.Linear.from_linear(layer, calibration, codebooks=C).train()
    replaced.input_gradient = "smooth"
    with pytest.raises(ValueError, match="input_gradient is 'smooth'"):
        replaced(torch.zeros(2, D))


def test_conv2d_tree_input_gradient():
    torch.manual_seed(3)
    conv = torch.nn.Conv2d(3, 5, 3, padding=1)
    images = torch.randn(20, 3, 6, 6)
    replaced = maddness.torch.Conv2d.from_conv2d(conv, images, codebooks=4, threads=1,
                                                 input_gradient="tree").train()
    assert replaced.linear.input_gradient == "tree"
    x = images[:4].clone().requires_grad_()
    replaced(x).sum().backward()
    assert x.grad.shape == x.shape and float(x.grad.abs().sum()) > 0
    assert float(replaced.linear.tables.grad.abs().sum()) > 0
