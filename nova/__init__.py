"""nova: a cloud controller faithful to the first OpenStack Nova."""

__version__ = "2011.2.1"
