"""Registry writes and the serving path, one module per seam:

- ``registry``: register a version (validate the ONNX artefact, store it).
- ``health``: the health check a version passes before it serves.
- ``deployments``: activate (health check off the request path), A/B and
  shadow, promote, stop, roll back, archive.
- ``inference``: one prediction: route -> infer -> shadow -> record -> guardrail.
- ``training``: train a classifier and optionally register and activate it.
- ``notify``: what those tell other apps, through ``cadml.lib.events``.

Import the module you need; this package re-exports nothing.
"""
