"""nova-objectstore: a small file-based store that speaks enough S3 for real clients.

``app.S3Application`` is the WSGI application; ``store`` keeps buckets and
objects under ``--buckets_path``; ``auth`` checks SigV4 and SigV2 signatures
against users' EC2 credentials.
"""
