"""Where compute finds images: ``get_default_image_service()``."""

from __future__ import annotations

from typing import Any

from nova import flags, utils

FLAGS = flags.FLAGS

flags.DEFINE_string("image_service", "nova.image.local.LocalImageService",
                    "Class of the image service compute and the APIs use")


def get_default_image_service() -> Any:
    """An instance of --image_service (by default nova.image.local.LocalImageService)."""
    return utils.import_class(FLAGS.image_service)()
