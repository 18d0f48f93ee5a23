"""minigrad.data: TensorDataset and DataLoader with PyTorch's batching semantics."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.data import DataLoader, Dataset, TensorDataset, default_collate


def table(n=10):
    x = np.arange(2.0 * n).reshape(n, 2)
    y = np.arange(n) * 10
    return x, y, TensorDataset(x, y)


def test_tensor_dataset_rows_and_length():
    x, y, ds = table()
    assert len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi.data, x[3])
    assert yi.item() == 30
    with pytest.raises(ValueError, match=r"same first axis.*\(10, 2\), \(9,\)"):
        TensorDataset(x, y[:9])


@pytest.mark.parametrize("batch_size, drop_last, sizes", [
    (1, False, [1] * 10), (3, False, [3, 3, 3, 1]), (3, True, [3, 3, 3]),
    (5, True, [5, 5]), (20, False, [10]), (20, True, [])])
def test_batches_in_order_and_the_last_one(batch_size, drop_last, sizes):
    x, y, ds = table()
    loader = DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches) == len(sizes)
    assert [len(b[1].data) for b in batches] == sizes
    if batches:
        seen = np.concatenate([b[1].data for b in batches])
        np.testing.assert_array_equal(seen, y[:len(seen)])  # in order
        np.testing.assert_array_equal(batches[0][0].data, x[:sizes[0]])


def test_shuffle_visits_every_row_once_per_pass_in_a_new_order():
    x, y, ds = table(50)
    loader = DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(0))
    epochs = [np.concatenate([yb.data for _, yb in loader]) for _ in range(2)]
    for order in epochs:
        assert sorted(order) == list(y)
    assert not np.array_equal(epochs[0], epochs[1])
    # the rows of x travel with their y
    for xb, yb in DataLoader(ds, batch_size=8, shuffle=True):
        np.testing.assert_array_equal(xb.data, x[yb.data // 10])


def test_the_shuffle_repeats_with_the_same_generator_seed_or_manual_seed():
    _, _, ds = table(30)

    def order(**kw):
        return np.concatenate([yb.data for _, yb in DataLoader(ds, 4, shuffle=True, **kw)])

    np.testing.assert_array_equal(order(generator=np.random.default_rng(5)),
                                  order(generator=np.random.default_rng(5)))
    # the order is the generator's permutation: documented, so a run can reproduce it
    np.testing.assert_array_equal(order(generator=np.random.default_rng(5)) // 10,
                                  np.random.default_rng(5).permutation(30))
    mg.manual_seed(3)
    first = order()
    mg.manual_seed(3)
    np.testing.assert_array_equal(order(), first)


def test_default_collate_follows_pytorchs_rules():
    batch = default_collate([(mg.Tensor([1.0, 2.0]), 1, 0.5, "a"),
                             (mg.Tensor([3.0, 4.0]), 2, 1.5, "b")])
    assert isinstance(batch, list) and len(batch) == 4
    np.testing.assert_array_equal(batch[0].data, [[1.0, 2.0], [3.0, 4.0]])
    assert batch[1].dtype == np.int64 and batch[2].dtype == np.float64
    assert batch[3] == ("a", "b")  # PyTorch leaves strings as the tuple of the field
    d = default_collate([{"x": np.ones(2), "k": 1}, {"x": np.zeros(2), "k": 2}])
    assert d["x"].shape == (2, 2) and list(d["k"].data) == [1, 2]
    with pytest.raises(ValueError, match=r"different lengths"):
        default_collate([(1, 2), (3,)])


def test_a_custom_dataset_goes_through_collate_and_keeps_the_graph():
    w = mg.Tensor([1.0, 2.0], requires_grad=True)

    class Squares(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return w * i, float(i * i)

    loader = DataLoader(Squares(), batch_size=3)
    assert len(loader) == 2
    (xb, yb), _ = list(loader)
    np.testing.assert_array_equal(xb.data, [[0, 0], [1, 2], [2, 4]])
    np.testing.assert_array_equal(yb.data, [0.0, 1.0, 4.0])
    xb.sum().backward()
    np.testing.assert_array_equal(w.grad, [3.0, 3.0])  # 0 + 1 + 2 for each element
    singles = list(DataLoader(Squares(), batch_size=None))
    assert len(singles) == 4 and singles[2][1] == 4.0


def test_a_graph_tensor_in_a_tensor_dataset_keeps_its_graph():
    w = mg.Tensor(np.ones((4, 2)), requires_grad=True)
    (xb,) = next(iter(DataLoader(TensorDataset(w * 2), batch_size=2)))
    xb.sum().backward()
    np.testing.assert_array_equal(w.grad, [[2, 2], [2, 2], [0, 0], [0, 0]])


def test_bad_arguments_name_the_fix():
    _, _, ds = table()
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer.*got 0"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match=r"numpy.random.Generator.*default_rng\(0\), got int"):
        DataLoader(ds, generator=0)
    with pytest.raises(TypeError, match=r"__getitem__ and __len__.*got generator"):
        DataLoader((i for i in range(3)))


def test_the_loader_is_reachable_as_mg_data():
    assert mg.data.DataLoader is DataLoader
