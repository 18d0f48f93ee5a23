"""Module and Parameter: registration, dotted names, state_dict, modes, repr, scope."""
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import Module, Parameter


class Pair(Module):
    """Two parameters and a plain attribute, to check what registers and in which order."""

    def __init__(self, n=3):
        super().__init__()
        self.scale = Parameter(np.ones(n))
        self.note = "plain attribute"
        self.shift = Parameter(np.zeros(n))

    def forward(self, x):
        return x * self.scale + self.shift


class Outer(Module):
    def __init__(self):
        super().__init__()
        self.first = Pair()
        self.gain = Parameter(np.array([2.0]))
        self.second = Pair()

    def forward(self, x):
        return self.second(self.first(x)) * self.gain


def names(module):
    return [n for n, _ in module.named_parameters()]


# ---- Parameter ------------------------------------------------------------------------

def test_parameter_is_a_leaf_that_requires_grad():
    p = Parameter([1.0, 2.0])
    assert isinstance(p, mg.Tensor) and p.requires_grad and p.is_leaf and p.grad_fn is None
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad, [2.0, 4.0])


def test_parameter_keeps_float32_and_copies_arrays():
    source = np.ones(2, dtype=np.float32)
    p = Parameter(source)
    assert p.dtype == np.float32
    p.data[0] = 5.0
    assert source[0] == 1.0


def test_parameter_rejects_integer_data():
    with pytest.raises(TypeError, match=r"Parameter: .*floating point.*int64"):
        Parameter(np.arange(3))


def test_parameter_repr():
    p = Parameter(np.array([1.0, 2.0], dtype=np.float32), name="w")
    assert repr(p) == "Parameter([1., 2.], dtype=float32, name='w')"


def test_ops_on_parameters_give_plain_tensors():
    out = Parameter([1.0]) * 2
    assert type(out) is mg.Tensor and out.grad_fn is not None


# ---- registration and names -----------------------------------------------------------

def test_parameters_register_in_assignment_order_and_plain_attributes_do_not():
    m = Pair()
    assert names(m) == ["scale", "shift"]
    assert m.note == "plain attribute" and "note" not in m._parameters


def test_nested_dotted_names_and_order():
    m = Outer()
    assert names(m) == ["gain", "first.scale", "first.shift", "second.scale", "second.shift"]
    assert [n for n, _ in m.named_children()] == ["first", "second"]
    assert [n for n, _ in m.named_modules()] == ["", "first", "second"]
    assert list(m.children()) == [m.first, m.second]
    assert list(m.modules()) == [m, m.first, m.second]


def test_parameter_names_follow_the_tree():
    m = Outer()
    assert [p.name for p in m.parameters()] == names(m)
    wrapped = nn.Sequential(nn.Dense(2, 3), Outer())
    assert [p.name for p in wrapped.parameters()] == names(wrapped)
    assert wrapped[1].first.scale.name == "1.first.scale"


def test_parameter_names_when_built_top_down():
    """A parameter added to a module that is already in a tree still gets its full path."""
    root = nn.Sequential(nn.Sequential())
    root[0].append(nn.Dense(1, 2))
    root[0][0].extra = Parameter([0.0])
    assert root[0][0].weight.name == "0.0.weight"
    assert root[0][0].extra.name == "0.0.extra"
    assert [p.name for p in root.parameters()] == names(root)


def test_model_parameter_names():
    model = nn.Sequential(nn.MLP([1, 64, 64]), nn.GaussianHead(64))
    expected = ["0.layers.0.weight", "0.layers.0.bias", "0.layers.2.weight", "0.layers.2.bias",
                "1.linear.weight", "1.linear.bias"]
    assert names(model) == expected
    assert [p.name for p in model.parameters()] == expected
    assert model.num_parameters() == 1 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2


def test_shared_parameter_listed_once_under_its_first_name():
    a, b = nn.Dense(2, 2), nn.Dense(2, 2)
    b.weight = a.weight
    model = nn.Sequential(a, b)
    assert names(model) == ["0.weight", "0.bias", "1.bias"]
    assert a.weight.name == "0.weight"
    assert len(list(model.parameters())) == 3


def test_shared_module_listed_once():
    shared = Pair()
    model = nn.Sequential(shared, shared)
    assert names(model) == ["0.scale", "0.shift"]
    assert len(list(model.modules())) == 2


def test_assigning_a_tensor_over_a_parameter_is_refused():
    m = Pair()
    with pytest.raises(TypeError, match=r"Pair: cannot assign a Tensor to the parameter 'scale'"):
        m.scale = mg.Tensor([1.0, 2.0, 3.0])


def test_parameter_slot_can_be_cleared_and_deleted():
    m = Pair()
    m.shift = None
    assert names(m) == ["scale"] and m.shift is None
    del m.scale
    assert names(m) == [] and not hasattr(m, "scale")


def test_assignment_before_init_is_explained():
    class Forgetful(Module):
        def __init__(self):
            self.w = Parameter([1.0])

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) first"):
        Forgetful()


# ---- modes, grads, calls --------------------------------------------------------------

def test_train_and_eval_reach_every_module():
    model = nn.Sequential(nn.Dense(1, 2), nn.Sequential(nn.Tanh()))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_sets_grads_to_none():
    m = Outer()
    m(mg.Tensor([1.0, 2.0, 3.0])).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_forward_is_required():
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        Module()(1.0)


def test_scope_records_the_module_stack_outermost_first():
    m = Outer()
    out = m(mg.Tensor([1.0, 2.0, 3.0]))
    assert out.grad_fn.scope == (m,)  # the final `* self.gain` runs in Outer itself
    inner_node = out.grad_fn.inputs[0].grad_fn  # second's `+ self.shift`
    assert inner_node.scope == (m, m.second)
    assert mg.Tensor([1.0], requires_grad=True).sum().grad_fn.scope == ()


def test_scope_of_the_model_ops():
    model = nn.Sequential(nn.MLP([1, 4]), nn.GaussianHead(4))
    out = model(mg.Tensor([[0.5]]))
    head = model[1]
    assert out.grad_fn.name == "GaussianParams" and out.grad_fn.scope == (model, head)
    affine = out.grad_fn.inputs[0].grad_fn
    assert affine.name == "Affine" and affine.scope == (model, head, head.linear)
    first = model[0].layers[0]
    tanh = affine.inputs[0].grad_fn
    assert tanh.scope == (model, model[0], model[0].layers, model[0].layers[1])
    assert tanh.inputs[0].grad_fn.scope == (model, model[0], model[0].layers, first)


# ---- state_dict -----------------------------------------------------------------------

def test_state_dict_holds_copies():
    m = Outer()
    sd = m.state_dict()
    assert list(sd) == names(m)
    sd["gain"][0] = 100.0
    assert m.gain.data[0] == 2.0


def test_state_dict_round_trip_writes_in_place():
    mg.manual_seed(1)
    source = nn.MLP([2, 3, 1])
    mg.manual_seed(2)
    target = nn.MLP([2, 3, 1])
    arrays_before = [p.data for p in target.parameters()]
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, p), q in zip(source.named_parameters(), target.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    assert all(p.data is a for p, a in zip(target.parameters(), arrays_before))


def test_load_casts_to_the_parameter_dtype():
    m = nn.Dense(2, 1, dtype=np.float32)
    m.load_state_dict({"weight": np.ones((2, 1)), "bias": mg.Tensor([3.0])})
    assert m.weight.dtype == np.float32 and m.bias.data[0] == 3.0


def test_load_missing_key():
    m = Outer()
    sd = m.state_dict()
    del sd["first.shift"]
    with pytest.raises(ValueError, match=r"Outer: missing key\(s\) 'first.shift'"):
        m.load_state_dict(sd)


def test_load_unexpected_key():
    m = Outer()
    sd = m.state_dict()
    sd["third.scale"] = np.ones(3)
    with pytest.raises(ValueError, match=r"unexpected key\(s\) 'third.scale'.*strict=False"):
        m.load_state_dict(sd)


def test_load_shape_mismatch_names_key_and_both_shapes():
    m = Outer()
    sd = m.state_dict()
    sd["second.scale"] = np.ones(4)
    message = re.escape("shape mismatch for 'second.scale': the state_dict has shape (4,), "
                        "the model's parameter has shape (3,)")
    with pytest.raises(ValueError, match=message):
        m.load_state_dict(sd)


def test_load_bad_dtype():
    m = Pair()
    sd = {"scale": np.ones(3, dtype=complex), "shift": np.ones(3)}
    with pytest.raises(ValueError, match=r"'scale' has dtype complex128.*float64"):
        m.load_state_dict(sd)


def test_failed_load_changes_nothing():
    m = Pair()
    with pytest.raises(ValueError, match="shape mismatch for 'shift'"):
        m.load_state_dict({"scale": np.full(3, 7.0), "shift": np.ones(5)})
    np.testing.assert_array_equal(m.scale.data, np.ones(3))


def test_non_strict_load_reports_keys():
    m = Pair()
    result = m.load_state_dict({"scale": np.full(3, 7.0), "other": np.ones(1)}, strict=False)
    assert result.missing_keys == ["shift"] and result.unexpected_keys == ["other"]
    np.testing.assert_array_equal(m.scale.data, np.full(3, 7.0))


def test_load_needs_a_mapping():
    with pytest.raises(TypeError, match="expected a dict"):
        Pair().load_state_dict([("scale", np.ones(3))])


# ---- repr and describe ----------------------------------------------------------------

def test_repr_of_the_model():
    model = nn.Sequential(nn.MLP([1, 8], activation="relu"), nn.GaussianHead(8))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): MLP(\n"
        "    (layers): Sequential(\n"
        "      (0): Dense(in_features=1, out_features=8, bias=True)\n"
        "      (1): ReLU()\n"
        "    )\n"
        "  )\n"
        "  (1): GaussianHead(\n"
        "    in_features=8, min_sigma=1e-06\n"
        "    (linear): Dense(in_features=8, out_features=2, bias=True)\n"
        "  )\n"
        ")"
    )


def test_repr_of_a_custom_module_without_extra_repr():
    assert repr(Outer()) == ("Outer(\n  (first): Pair()\n  (second): Pair()\n)")


def test_describe_labels():
    model = nn.Sequential(nn.MLP([1, 64, 64]), nn.GaussianHead(64))
    labels = [m.describe() for m in model.modules()]
    assert labels == ["Sequential(2)", "MLP(1-64-64)", "Sequential(4)", "Dense(1->64)", "Tanh",
                      "Dense(64->64)", "Tanh", "GaussianHead(64->[mu, sigma])", "Dense(64->2)"]
    assert Pair().describe() == "Pair"
