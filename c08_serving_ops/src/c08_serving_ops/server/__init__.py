"""The HTTP server: the service and its life cycle, middleware and slow-client defences, the
routes (/embed, /search, /documents, /generate, /v1, /rag, the chat page) and the app.
Imports every part below it; nothing below imports it.
"""
