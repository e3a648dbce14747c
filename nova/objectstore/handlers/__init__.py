"""S3 operations, one module per resource: service, bucket, objects, multipart."""
