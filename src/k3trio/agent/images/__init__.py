"""Images without a registry: OCI tarballs built from host files, and the air-gap import."""

from .builtin import BUSYBOX_IMAGE, PAUSE_IMAGE, ImageSourceMissing, busybox_image, pause_image
from .importer import IMAGE_SUFFIXES, ImportError_, ensure_archive, ensure_builtin, import_archive, import_dir, tarballs
from .oci import Entry, ImageSpec, build_layer, build_oci_archive

__all__ = [
    "BUSYBOX_IMAGE",
    "IMAGE_SUFFIXES",
    "PAUSE_IMAGE",
    "Entry",
    "ImageSourceMissing",
    "ImageSpec",
    "ImportError_",
    "build_layer",
    "build_oci_archive",
    "busybox_image",
    "ensure_archive",
    "ensure_builtin",
    "import_archive",
    "import_dir",
    "pause_image",
    "tarballs",
]
