"""GPU kernels for the compression hot paths, each beside its plain torch reference and
behind one dispatcher.

``backend``: ``auto`` (Triton on CUDA tensors, torch elsewhere), ``torch`` or ``triton``
(on CPU tensors only under Triton's own interpreter, ``TRITON_INTERPRET=1``, which is how
the tests check the kernels without a GPU). Chosen by argument, never by environment.

* ``rowmax``        fused similarity + row max/argmax over tiles (bipartite matching,
                     nearest neighbours, nearest-centroid assignment with a column bias);
                     never materialises the M x N matrix;
* ``scatter_mean``  segmented, size-weighted scatter-mean (merging, centroid update);
* ``consecutive_sim`` per-position cosine similarity of consecutive frames + threshold mask;
* ``maxmin``        greedy max-min diversity with running minimum distances on the device.
"""

from .dispatch import consecutive_sim, maxmin, rowmax, scatter_mean

__all__ = ["consecutive_sim", "maxmin", "rowmax", "scatter_mean"]
