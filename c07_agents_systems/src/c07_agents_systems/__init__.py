"""c07_agents_systems.

Multi-agent systems: plan / execute / review over an asyncio message bus, measured.

Planned module: see README.md for what is coming. It holds no graded tasks yet.
"""
