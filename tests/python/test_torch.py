"""maddness.torch.Linear: matches Model.apply plus the bias, and saves with the state dict."""

import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import maddness  # noqa: E402
import maddness.torch  # noqa: E402
from conftest import C, D, M, structured_rows  # noqa: E402


@pytest.fixture(scope="module")
def layer():
    torch.manual_seed(0)
    return torch.nn.Linear(D, M)


@pytest.fixture(scope="module")
def calibration():
    return torch.from_numpy(structured_rows(np.random.default_rng(21), 2000))


@pytest.fixture(scope="module")
def replaced(layer, calibration):
    return maddness.torch.Linear.from_linear(layer, calibration, codebooks=C, threads=1)


def test_matches_apply_plus_bias(layer, calibration, replaced, a_test):
    weight = layer.weight.detach().numpy()
    model = maddness.fit(calibration.numpy(), weight.T, codebooks=C)
    assert model.to_bytes() == replaced.model.to_bytes()
    x = torch.from_numpy(a_test)
    y = replaced(x)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32 and y.shape == (len(a_test), M)
    assert not y.requires_grad
    expected = model(a_test) + layer.bias.detach().numpy()
    np.testing.assert_array_equal(y.numpy(), expected)
    # Close to the exact layer.
    exact = layer(x).detach().numpy()
    assert ((y.numpy() - exact) ** 2).sum() / (exact**2).sum() < 0.1
    assert (replaced.in_features, replaced.out_features) == (D, M)
    assert f"codebooks={C}" in repr(replaced)


def test_input_shapes_and_dtypes(replaced, a_test):
    x = torch.from_numpy(a_test[:12])
    y = replaced(x)
    np.testing.assert_array_equal(replaced(x.reshape(3, 4, D)).numpy(), y.reshape(3, 4, M).numpy())
    np.testing.assert_array_equal(replaced(x[5]).numpy(), y[5].numpy())
    np.testing.assert_array_equal(replaced(x.double()).numpy(), y.numpy())
    np.testing.assert_array_equal(replaced(x.clone().requires_grad_()).numpy(), y.numpy())
    with pytest.raises(ValueError, match=r"input has shape \(12, 31\); its last dimension"):
        replaced(x[:, :-1])


def test_state_dict_round_trip(layer, replaced, a_test):
    x = torch.from_numpy(a_test)
    expected = replaced(x)
    net = torch.nn.Sequential(torch.nn.ReLU(), replaced)
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer)
    assert state["1.model_bytes"].dtype == torch.uint8
    fresh = torch.nn.Sequential(torch.nn.ReLU(), maddness.torch.Linear())
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh[1](x).numpy(), expected.numpy())
    # Loading over an existing layer with another model replaces it.
    other = maddness.torch.Linear.from_linear(torch.nn.Linear(D, 3, bias=False), x, codebooks=4)
    other.load_state_dict(replaced.state_dict())
    np.testing.assert_array_equal(other(x).numpy(), expected.numpy())
    # A whole module pickles too (torch.save of the module).
    buffer = io.BytesIO()
    torch.save(replaced, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(torch.load(buffer)(x).numpy(), expected.numpy())


def test_layer_without_bias(calibration, a_test):
    layer = torch.nn.Linear(D, M, bias=False)
    replaced = maddness.torch.Linear.from_linear(layer, calibration.numpy(), codebooks=4)
    assert "bias" not in replaced.state_dict()
    fresh = maddness.torch.Linear()
    fresh.load_state_dict(replaced.state_dict())
    assert fresh.bias is None
    model = maddness.fit(calibration.numpy(), layer.weight.detach().numpy().T, codebooks=4)
    np.testing.assert_array_equal(fresh(torch.from_numpy(a_test)).numpy(), model(a_test))


def test_errors(layer, replaced):
    with pytest.raises(TypeError, match="torch.nn.Linear"):
        maddness.torch.Linear.from_linear(torch.nn.ReLU(), torch.zeros(20, D))
    with pytest.raises(ValueError, match="calibration_inputs has shape"):
        maddness.torch.Linear.from_linear(layer, torch.zeros(20, D + 1))
    with pytest.raises(RuntimeError, match="no model yet"):
        maddness.torch.Linear()(torch.zeros(2, D))
    state = replaced.state_dict()
    state["model_bytes"] = state["model_bytes"][:50]
    with pytest.raises(RuntimeError, match="While loading model_bytes"):
        maddness.torch.Linear().load_state_dict(state)
