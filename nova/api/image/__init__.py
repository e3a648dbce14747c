"""A read-mostly image API v2 for the OpenStack clients, over nova's image service (``nova.image.api``).

nova-api serves it on ``--image_api_listen:--image_api_port`` (the ``image``
pipeline of api-paste.ini), authenticated by the identity API's tokens
(``X-Auth-Token``).  Image ids are nova's integer image ids written as
strings, the same ids the compute API takes in ``imageRef``; the EC2 API
shows the same images as ``ami-%08x``.
"""

from nova import flags

flags.DEFINE_string("image_api_listen", "0.0.0.0", "Address the image API listens on")
