import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mvkl.manifest import DIM, hamming, hamming_matrix, masked_hamming, pack, unpack

vectors = arrays(np.uint8, st.tuples(st.integers(1, 40), st.just(DIM)), elements=st.integers(0, 1))


@given(vectors)
@settings(max_examples=200, deadline=None)
def test_pack_unpack_roundtrip(v: np.ndarray) -> None:
    p = pack(v)
    assert p.dtype == np.uint64 and p.shape == (v.shape[0],)
    assert np.array_equal(unpack(p), v)


@given(vectors, vectors)
@settings(max_examples=200, deadline=None)
def test_hamming_equals_slow_loop(a: np.ndarray, b: np.ndarray) -> None:
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    got = hamming(pack(a), pack(b))
    slow = [sum(int(x != y) for x, y in zip(a[i], b[i], strict=True)) for i in range(n)]
    assert got.tolist() == slow


@given(vectors, vectors, vectors, vectors)
@settings(max_examples=100, deadline=None)
def test_masked_hamming_counts_only_dims_known_in_both(a, ka, b, kb) -> None:  # type: ignore[no-untyped-def]
    n = min(map(len, (a, ka, b, kb)))
    a, ka, b, kb = a[:n] & ka[:n], ka[:n], b[:n] & kb[:n], kb[:n]
    got = masked_hamming(pack(a), pack(ka), pack(b), pack(kb))
    slow = [sum(int(a[i, j] != b[i, j]) for j in range(DIM) if ka[i, j] and kb[i, j]) for i in range(n)]
    assert got.tolist() == slow


def test_bit_order_is_table_order() -> None:
    v = np.zeros(DIM, np.uint8)
    v[0] = 1
    v[34] = 1
    assert int(pack(v)) == (1 << 0) | (1 << 34)


def test_float_vectors_binarise_at_half() -> None:
    assert int(pack(np.array([0.2, 0.7, 0.5, 1.0]))) == 0b1010


def test_one_to_many_large_and_matrix() -> None:
    rng = np.random.default_rng(0)
    v = (rng.random((100_000, DIM)) < 0.2).astype(np.uint8)
    p = pack(v)
    d = hamming(p[7], p)
    assert np.array_equal(d, (v != v[7]).sum(axis=1))
    m = hamming_matrix(p[:50])
    assert np.array_equal(m, (v[:50, None, :] != v[None, :50, :]).sum(-1))
    assert np.array_equal(m, m.T) and (np.diag(m) == 0).all()
