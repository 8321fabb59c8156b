"""Generation: the engine that interleaves SmolLM2 generations token by token, its metrics and
the chat API's request models. Imports only the core.
"""
