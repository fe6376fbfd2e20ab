"""Multimodal analyses and inference on top of the evaluation library (paper Sec. 5.7, 5.9, 5.11):

* :mod:`.inputs`: images from a store, or DICOM files through the ingest pixel pipeline, named
  without identifiers (position + keyed hash);
* :mod:`.embed`: normalised embeddings of images, reports and manifestations (``mvkl embed``);
* :mod:`.retrieval`: metrics (cosine top-k, recall@k, 1-NN BI-RADS confusion) and the run:
  image → report retrieval with the BI-RADS confusion (Fig. 4) and recall@k,
  and manifestation estimation (Table 8) (``mvkl retrieve``);
* :mod:`.representation`: metrics and the run: alignment and uniformity, Fig. 8 panels (``mvkl represent``);
* :mod:`.gradcam`: Grad-CAM with hooks, overlays and the contact sheet (``mvkl cam``, Fig. 6);
* :mod:`.predict`: malignancy probabilities of a fine-tuned classifier with a stored operating
  point (``mvkl predict``).

The modules import torch, numpy and matplotlib lazily where they can; the CLI imports them inside
command functions.
"""
