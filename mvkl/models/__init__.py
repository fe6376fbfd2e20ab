"""ViKL networks: image / text / manifestation encoders, aligners, the shared
fuse projector, and the export/load contract of pretrained encoders (:mod:`mvkl.models.export`).

Importing this package imports torch; the CLI imports it inside command functions.
"""

from mvkl.models.export import (
    export_image_encoder,
    load_image_encoder,
    load_vikl,
    save_vikl,
)
from mvkl.models.image import ARCHS, NORMALIZATIONS, ImageEncoder, imagenet_weights_path
from mvkl.models.manifest import ManifestEncoder
from mvkl.models.text import MAX_TEXT_LENGTH, TextEncoder, build_tiny_bert, load_tokenizer, tokenize
from mvkl.models.vikl import ALIGN_DIM, FuseProjector, ViKL

__all__ = [
    "ALIGN_DIM",
    "ARCHS",
    "MAX_TEXT_LENGTH",
    "NORMALIZATIONS",
    "FuseProjector",
    "ImageEncoder",
    "ManifestEncoder",
    "TextEncoder",
    "ViKL",
    "build_tiny_bert",
    "export_image_encoder",
    "imagenet_weights_path",
    "load_image_encoder",
    "load_tokenizer",
    "load_vikl",
    "save_vikl",
    "tokenize",
]
