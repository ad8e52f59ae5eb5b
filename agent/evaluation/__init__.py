"""`mailorder eval`: dataset folders (interchange format) as real MIME, the production pipeline over
them, and the scorer's metrics."""
