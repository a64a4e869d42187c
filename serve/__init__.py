"""triserve's server package. The public face: `serve.app:build_app` (the Serve application
builder), `serve.config` (its validated args) and `serve.protocol` (the wire models).

Kept free of ray and torch imports so that `clients/` can import the wire models cheaply.
"""
