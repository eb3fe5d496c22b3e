"""Reading engineering content off a drawing's text and geometry.

One module per kind of content: ``labels`` (title-block label words in many
languages), ``cells`` (the line grid a title block is drawn with), ``tolerances``
(deviations, ISO 286 fits, general tolerance notes), ``threads``, ``gdt`` and
``roughness``. Each is pure Python over ``TextItem``s and plain tuples, so the
isolation workers can run them and tests can call them directly.
"""
